/**
 * Chaos in virtual time: random handlers (success, typed failure, defect, synchronous throw,
 * sleep, never ending, resource crash, scoped resources, a scoped resource whose release dies), timeouts, retries, capacity and every
 * strategy, keys and priorities, rate limits, flaky resources under restart policies,
 * interrupted submitters and execute callers, handle cancels, pause/resume/pauseKey, resize up
 * and down, and shutdown vs shutdownNow vs scope close at a random point.
 *
 * `CHAOS_RUNS=10000 npx vitest run test/chaos.test.ts` runs more.
 */
import { expect, it } from "@effect/vitest"
import {
  Cause,
  Data,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  Logger,
  LogLevel,
  Option,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Errors, type Outcome, Restart, Supervisor } from "effect-supervisor"

class Nope extends Data.TaggedError("Nope")<{}> {}

const runs = Number(process.env.CHAOS_RUNS ?? 2000)

type Kind = "succeed" | "sync" | "fail" | "die" | "throw" | "sleep" | "never" | "crash" | "scoped" | "dyingRelease"

interface Task {
  readonly id: number
  readonly kind: Kind
  readonly millis: number
  readonly key: number
}

type Action =
  | {
    readonly _tag: "submit" | "offer" | "execute" | "handle"
    readonly kind: Kind
    readonly millis: number
    readonly key: number
  }
  | { readonly _tag: "interruptCaller"; readonly index: number }
  | { readonly _tag: "cancel"; readonly index: number }
  | { readonly _tag: "pause" | "resume" }
  | { readonly _tag: "pauseKey" | "resumeKey"; readonly key: number }
  | { readonly _tag: "resize"; readonly workers: number }
  | { readonly _tag: "wait"; readonly millis: number }
  | { readonly _tag: "yield"; readonly times: number }

const kind = fc.constantFrom<Kind>(
  "succeed",
  "sync",
  "fail",
  "die",
  "throw",
  "sleep",
  "sleep",
  "never",
  "crash",
  "scoped",
  "dyingRelease"
)
const taskAction = fc.record({
  _tag: fc.constantFrom("submit" as const, "offer" as const, "execute" as const, "handle" as const),
  kind,
  millis: fc.integer({ min: 0, max: 30 }),
  key: fc.integer({ min: 0, max: 2 })
})
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: taskAction },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("interruptCaller" as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("cancel" as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constantFrom("pause" as const, "resume" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constantFrom("pauseKey" as const, "resumeKey" as const),
      key: fc.integer({ min: 0, max: 2 })
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("resize" as const), workers: fc.integer({ min: 1, max: 4 }) })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("wait" as const), millis: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("yield" as const), times: fc.integer({ min: 1, max: 8 }) }) }
)

it.effect.prop(
  "chaos: one outcome per accepted task, pending exact, finalizers in order, state agrees, nothing hangs",
  {
    actions: fc.array(action, { maxLength: 24 }),
    workers: fc.integer({ min: 1, max: 4 }),
    capacity: fc.integer({ min: 1, max: 8 }),
    strategy: fc.constantFrom("suspend" as const, "dropping" as const, "sliding" as const),
    scheduling: fc.constantFrom("fifo" as const, "keyed" as const, "priority" as const),
    timeout: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
    retries: fc.integer({ min: 0, max: 2 }),
    rateLimit: fc.boolean(),
    flaky: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    maxRestarts: fc.integer({ min: 0, max: 6 }),
    stop: fc.constantFrom("shutdown" as const, "shutdownNow" as const, "scope" as const),
    // no resource, timeout, retry, rate limit or key: dormant workers, sync attempts in place
    // and `execute` in the caller are possible only then
    bare: fc.boolean(),
    stepYield: fc.boolean()
  },
  (p) =>
    Effect.gen(function*() {
      const started = new Set<number>()
      const cancelTargets = new Set<number>()
      const attempted = new Set<number>()
      const accepted = new Set<number>()
      const values = new Map<number, number>()
      let acquired = 0
      let released = 0
      let incarnations = 0
      /** per resource (incarnation number): scopes of its tasks still open */
      const openTaskScopes = new Map<number, number>()
      const open = (resource: number, delta: number) =>
        Effect.sync(() => openTaskScopes.set(resource, (openTaskScopes.get(resource) ?? 0) + delta))
      const violations: Array<string> = []
      /** tasks whose own scoped resource was acquired / released (a dying release included) */
      const taskAcquired = new Set<number>()
      const taskReleased = new Set<number>()
      const handlerFibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      const callers: Array<{ id: number; fiber: Fiber.RuntimeFiber<unknown, unknown>; execute?: true }> = []
      /** `execute` tasks whose caller was interrupted after their handler had been called */
      const startedWhenCallerInterrupted = new Set<number>()
      const handles: Array<Supervisor.TaskHandle<Task, number, Nope | Errors.WorkerCrashed>> = []

      const resource = Effect.acquireRelease(
        Effect.suspend(() => {
          const n = incarnations++
          if (p.flaky[n % p.flaky.length] && n < 40) return Effect.fail(new Nope())
          acquired++
          return Effect.succeed(n)
        }),
        (n) =>
          Effect.sync(() => {
            if ((openTaskScopes.get(n) ?? 0) > 0) {
              violations.push("a resource was released while a task's scope was open")
            }
            released++
          })
      )
      const handler = (
        task: Task,
        resource: number
      ): Effect.Effect<number, Nope | Errors.WorkerCrashed, Scope.Scope> => {
        started.add(task.id)
        switch (task.kind) {
          case "succeed":
            return Effect.succeed(task.id)
          case "sync":
            return Effect.sync(() => {
              if (task.millis % 7 === 0) throw new Error(`thunk throw ${task.id}`)
              return task.id
            })
          case "fail":
            return Effect.fail(new Nope())
          case "die":
            return Effect.die(task.id)
          case "throw":
            throw new Error(`sync throw ${task.id}`)
          case "sleep":
            return Effect.as(Effect.sleep(task.millis), task.id)
          case "never":
            return Effect.withFiberRuntime((fiber) => {
              handlerFibers.push(fiber)
              return Effect.never
            })
          case "crash":
            return Effect.fail(new Errors.WorkerCrashed({ cause: task.id }))
          case "scoped":
          case "dyingRelease":
            return Effect.zipRight(
              Effect.acquireRelease(
                Effect.zipRight(open(resource, 1), Effect.sync(() => taskAcquired.add(task.id))),
                () =>
                  Effect.zipRight(
                    open(resource, -1),
                    Effect.suspend(() => {
                      taskReleased.add(task.id)
                      return task.kind === "dyingRelease" ? Effect.die(`release ${task.id} died`) : Effect.void
                    })
                  )
              ),
              Effect.as(Effect.sleep(task.millis), task.id)
            )
        }
      }

      const scope = yield* Scope.make()
      const sup = yield* Scope.extend(
        Supervisor.make({
          workers: p.workers,
          capacity: p.capacity,
          strategy: p.strategy,
          handler,
          resource: p.bare ? undefined : resource,
          timeout: p.bare ? undefined : p.timeout,
          retry: p.retries > 0 && !p.bare ? Schedule.recurs(p.retries) : undefined,
          rateLimit: p.rateLimit && !p.bare ? { limit: 3, interval: "10 millis" } : undefined,
          restart: Restart.policy({
            backoff: Schedule.spaced("5 millis"),
            maxRestarts: p.maxRestarts,
            within: "1 second"
          }),
          key: p.scheduling === "keyed" && !p.bare ? (task: Task) => String(task.key) : undefined,
          perKey: p.scheduling === "keyed" && !p.bare ? 1 : undefined,
          priority: p.scheduling === "priority" && !p.bare ? (task: Task) => task.millis % 3 : undefined,
          outcomesBuffer: 10_000,
          initial: 0,
          combine: (sum: number, value: number) => sum + value
        }),
        scope
      )
      const outcomes: Array<Outcome.Outcome<Task, number, Nope | Errors.WorkerCrashed>> = []
      const reader = yield* Effect.fork(Stream.runForEach(sup.outcomes, (o) => Effect.sync(() => outcomes.push(o))))
      yield* Effect.repeatN(Effect.yieldNow(), 4)

      let nextId = 0
      for (const a of p.actions) {
        switch (a._tag) {
          case "submit":
          case "offer":
          case "execute":
          case "handle": {
            const task: Task = { id: nextId++, kind: a.kind, millis: a.millis, key: a.key }
            attempted.add(task.id)
            if (a._tag === "submit") {
              // may suspend on a full queue: run it as a caller that can be interrupted
              const fiber = yield* Effect.fork(
                Effect.tap(sup.submit(task), () => Effect.sync(() => accepted.add(task.id)))
              )
              callers.push({ id: task.id, fiber })
            } else if (a._tag === "offer") {
              const ok = yield* Effect.either(sup.offer(task))
              if (ok._tag === "Right" && ok.right) accepted.add(task.id)
            } else if (a._tag === "execute") {
              // its answer comes once the task's own finalizers have run
              const answered = Effect.onExit(sup.execute(task), (exit) =>
                Effect.sync(() => {
                  if (Exit.isInterrupted(exit) || !taskAcquired.has(task.id) || taskReleased.has(task.id)) return
                  violations.push(`execute of ${task.id} returned before its finalizer ran`)
                }))
              callers.push({ id: task.id, fiber: yield* Effect.fork(answered), execute: true })
            } else {
              const fiber = yield* Effect.fork(
                Effect.tap(sup.submitWithHandle(task), (h) =>
                  Effect.sync(() => {
                    accepted.add(task.id)
                    handles.push(h)
                  }))
              )
              callers.push({ id: task.id, fiber })
            }
            break
          }
          case "interruptCaller":
            if (callers.length > 0) {
              const caller = callers[a.index % callers.length]!
              cancelTargets.add(caller.id)
              if (caller.execute && started.has(caller.id)) startedWhenCallerInterrupted.add(caller.id)
              yield* Fiber.interrupt(caller.fiber)
            }
            break
          case "cancel":
            if (handles.length > 0) {
              const handle = handles[a.index % handles.length]!
              cancelTargets.add(handle.task.id)
              const done = yield* Fiber.await(yield* Effect.fork(handle.cancel)).pipe(
                Effect.timeoutOption("1 hour"),
                Effect.fork
              )
              yield* TestClock.adjust("1 hour")
              const exit = yield* Fiber.join(done)
              if (Option.isNone(exit)) violations.push("cancel hung")
            }
            break
          case "pause":
            yield* sup.pause
            break
          case "resume":
            yield* sup.resume
            break
          case "pauseKey":
            yield* sup.pauseKey(String(a.key))
            break
          case "resumeKey":
            yield* sup.resumeKey(String(a.key))
            break
          case "resize":
            yield* Effect.ignore(sup.resize(a.workers))
            break
          case "wait":
            yield* TestClock.adjust(a.millis)
            break
          case "yield":
            yield* Effect.repeatN(Effect.yieldNow(), a.times)
            break
        }
        // half the runs let what an action forked run before the next action (a pause then lands
        // between an execute's hand-off and its worker's first step, and so on)
        if (p.stepYield) yield* Effect.yieldNow()
      }

      // stop, and make sure the stop ends (never-ending tasks get a harder stop after a while)
      let summary:
        | Exit.Exit<Supervisor.Summary<Task, number, Nope | Errors.WorkerCrashed, number>, Errors.Escalated>
        | undefined
      // shutdownNow, a scope close or an escalation interrupts running tasks; a graceful drain does not
      let hardStop = p.stop !== "shutdown"
      if (p.stop === "scope") {
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("1 minute")
        expect(closing.unsafePoll()).not.toBeNull()
      } else {
        const stopping = yield* Effect.fork(Effect.exit(sup[p.stop]))
        yield* TestClock.adjust("1 minute")
        if (stopping.unsafePoll() === null) {
          // a graceful drain waits for tasks that never end: shutdownNow must still end it
          expect(p.stop).toBe("shutdown")
          hardStop = true
          const now = yield* Effect.fork(Effect.exit(sup.shutdownNow))
          yield* TestClock.adjust("1 minute")
          expect(now.unsafePoll()).not.toBeNull()
        }
        summary = yield* Fiber.join(stopping)
        yield* Scope.close(scope, Exit.void)
      }
      yield* TestClock.adjust("1 minute")
      // every caller has its answer
      for (const { fiber } of callers) expect(fiber.unsafePoll()).not.toBeNull()
      for (const handle of handles) yield* handle.await
      yield* Fiber.join(reader)

      // one outcome per accepted task
      const ids = outcomes.map((o) => o.task.id)
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of accepted) expect(ids).toContain(id)
      for (const id of ids) expect(attempted.has(id)).toBe(true)
      const stats = yield* sup.stats
      expect(stats.submitted).toBe(ids.length)
      expect(stats.queued + stats.running).toBe(0)
      expect(stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.dropped).toBe(stats.submitted)
      const tags = (tag: string) => outcomes.filter((o) => o._tag === tag).length
      expect([tags("Success"), tags("Failure"), tags("Defect"), tags("Interrupted"), tags("Dropped")]).toEqual([
        stats.succeeded,
        stats.failed,
        stats.defects,
        stats.interrupted,
        stats.dropped
      ])
      for (const o of outcomes) {
        if (o._tag === "Success") values.set(o.task.id, o.value)
        if (o._tag === "Dropped" && started.has(o.task.id)) violations.push(`dropped task ${o.task.id} had started`)
        if (o._tag === "Success" && o.task.kind === "dyingRelease") {
          violations.push(`task ${o.task.id} succeeded although its finalizer died`)
        }
        if (taskAcquired.has(o.task.id) && !taskReleased.has(o.task.id)) {
          violations.push(`task ${o.task.id} has its outcome but its finalizer never ran`)
        }
        // a started `execute` task runs on when its caller is interrupted: only a hard stop ends it Interrupted
        if (
          o._tag === "Interrupted" && startedWhenCallerInterrupted.has(o.task.id) && !hardStop &&
          !(summary !== undefined && Exit.isFailure(summary))
        ) {
          violations.push(`started task ${o.task.id} was cancelled by its caller's interruption`)
        }
      }
      // finalizers: every resource released once, no task scope left open, no handler fiber left
      expect(acquired).toBe(released)
      expect([...openTaskScopes.values()].every((n) => n === 0)).toBe(true)
      for (const fiber of handlerFibers) expect(fiber.unsafePoll()).not.toBeNull()
      expect(violations).toEqual([])

      if (summary !== undefined && Exit.isSuccess(summary)) {
        const s = summary.value
        expect(s.state).toBe([...values.values()].reduce((a, b) => a + b, 0))
        // pending = exactly the accepted tasks that never started and were not cancelled
        const pending = new Set(s.pending.map((t) => t.id))
        expect(pending.size).toBe(s.pending.length)
        for (const o of outcomes) {
          const neverStarted = !started.has(o.task.id)
          if (o._tag === "Dropped") expect(pending.has(o.task.id)).toBe(true)
          else if (o._tag === "Interrupted" && neverStarted && !cancelTargets.has(o.task.id)) {
            expect(pending.has(o.task.id)).toBe(true)
          } else if (!(o._tag === "Interrupted" && neverStarted)) {
            expect(pending.has(o.task.id)).toBe(false)
          }
        }
      } else if (summary !== undefined) {
        const cause = summary.cause
        expect(Cause.failureOption(cause).pipe(Option.map((e) => e._tag))).toEqual(Option.some("Escalated"))
      }
    }).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.None))),
  // about 15 ms a run on a quiet 2-core machine; the bound scales with CHAOS_RUNS
  { fastCheck: { numRuns: runs }, timeout: 60_000 + runs * 100 }
)

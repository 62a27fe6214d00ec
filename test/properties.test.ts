import { expect, it } from "@effect/vitest"
import { Chunk, Data, Effect, Exit, FastCheck as fc, Fiber, Ref, Schedule, Scope, Stream, TestClock } from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"

class Nope extends Data.TaggedError("Nope")<{}> {}

type Kind = "succeed" | "fail" | "die" | "slow" | "crash"

interface Task {
  readonly id: number
  readonly kind: Kind
  readonly millis: number
}

const settle = Effect.repeatN(Effect.yieldNow(), 20)

const taskArb = fc.record({
  kind: fc.constantFrom<Kind>("succeed", "fail", "die", "slow", "slow", "crash"),
  millis: fc.integer({ min: 0, max: 50 })
})

it.effect.prop(
  "every accepted task ends in exactly one outcome; acquires = releases; no fiber left",
  {
    specs: fc.array(taskArb, { maxLength: 40 }),
    workers: fc.integer({ min: 1, max: 4 }),
    capacity: fc.integer({ min: 1, max: 8 }),
    strategy: fc.constantFrom("suspend" as const, "dropping" as const, "sliding" as const),
    stopAt: fc.integer({ min: 0, max: 120 }),
    stop: fc.constantFrom("shutdown" as const, "shutdownNow" as const, "scope" as const),
    timeout: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
    retries: fc.integer({ min: 0, max: 2 })
  },
  ({ capacity, retries, specs, stop, stopAt, strategy, timeout, workers }) =>
    Effect.gen(function*() {
      const tasks: ReadonlyArray<Task> = specs.map((spec, id) => ({ id, ...spec }))
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const handlerFibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      const bracket = Effect.acquireRelease(
        Ref.update(acquired, (n) => n + 1),
        () => Ref.update(released, (n) => n + 1)
      )
      const handler = (task: Task): Effect.Effect<number, Nope | Errors.WorkerCrashed, Scope.Scope> =>
        Effect.zipRight(
          bracket,
          Effect.withFiberRuntime<number, Nope | Errors.WorkerCrashed>((fiber) => {
            handlerFibers.push(fiber)
            switch (task.kind) {
              case "succeed":
                return Effect.succeed(task.id)
              case "fail":
                return Effect.fail(new Nope())
              case "die":
                return Effect.die(task.id)
              case "slow":
                return Effect.as(Effect.sleep(task.millis), task.id)
              case "crash":
                return Effect.fail(new Errors.WorkerCrashed({ cause: task.id }))
            }
          })
        )
      const scope = yield* Scope.make()
      const sup = yield* Supervisor.make({
        workers,
        capacity,
        strategy,
        timeout,
        retry: Schedule.recurs(retries),
        resource: bracket,
        restart: Restart.policy({ maxRestarts: 1000, backoff: Schedule.spaced("1 millis") }),
        handler: (task: Task) => Effect.scoped(handler(task))
      }).pipe(Scope.extend(scope))
      const outcomes = yield* Effect.fork(Stream.runCollect(sup.outcomes))
      yield* settle
      const submitter = yield* Effect.fork(Effect.exit(sup.submitAll(tasks)))
      yield* TestClock.adjust(stopAt)
      if (stop === "scope") {
        yield* Scope.close(scope, Exit.void)
      } else {
        const done = yield* Effect.fork(sup[stop])
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(done)
        yield* Scope.close(scope, Exit.void)
      }
      yield* Fiber.join(submitter)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(outcomes)).map((o) => o.task.id)
      const stats = yield* sup.stats
      // exactly one outcome per accepted task
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.length).toBe(stats.submitted)
      expect(stats.queued + stats.running).toBe(0)
      expect(stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.dropped).toBe(stats.submitted)
      // accepted tasks are a prefix of the submitted ones
      expect([...seen].sort((a, b) => a - b)).toEqual(tasks.slice(0, stats.submitted).map((t) => t.id))
      expect(yield* Ref.get(acquired)).toBe(yield* Ref.get(released))
      for (const fiber of handlerFibers) expect(fiber.unsafePoll()).not.toBeNull()
    }),
  { fastCheck: { numRuns: 150 } }
)

it.effect.prop(
  "keys, priorities, cancels, pauses and resizes: one outcome per task, perKey never exceeded, nothing left running",
  {
    specs: fc.array(fc.record({ millis: fc.integer({ min: 0, max: 30 }), key: fc.integer({ min: 0, max: 3 }) }), {
      maxLength: 30
    }),
    workers: fc.integer({ min: 1, max: 4 }),
    perKey: fc.integer({ min: 1, max: 3 }),
    capacity: fc.integer({ min: 1, max: 40 }),
    cancels: fc.array(fc.record({ index: fc.nat(), at: fc.integer({ min: 0, max: 60 }) }), { maxLength: 6 }),
    resizeTo: fc.integer({ min: 1, max: 5 }),
    pauseAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    stop: fc.constantFrom("shutdown" as const, "shutdownNow" as const)
  },
  ({ cancels, capacity, pauseAt, perKey, resizeTo, specs, stop, workers }) =>
    Effect.scoped(Effect.gen(function*() {
      const running = new Map<number, number>()
      let violations = 0
      const sup = yield* Supervisor.make({
        workers,
        capacity,
        key: (task: { key: number; millis: number; id: number }) => String(task.key),
        perKey,
        priority: (task) => task.millis % 2,
        handler: (task) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              const now = (running.get(task.key) ?? 0) + 1
              running.set(task.key, now)
              if (now > perKey) violations++
            }),
            () => Effect.sleep(task.millis),
            () => Effect.sync(() => running.set(task.key, running.get(task.key)! - 1))
          )
      })
      const tasks = specs.map((spec, id) => ({ ...spec, id }))
      const accepted: Array<Supervisor.TaskHandle<(typeof tasks)[number], void, never>> = []
      const submitter = yield* Effect.fork(
        Effect.exit(Effect.forEach(tasks, (task) => Effect.map(sup.submitWithHandle(task), (h) => accepted.push(h))))
      )
      yield* settle
      yield* sup.resize(resizeTo)
      let elapsed = 0
      const events = [...cancels.map((c) => ({ at: c.at, index: c.index })), { at: pauseAt ?? -1, index: -1 }]
        .filter((e) => e.at >= 0)
        .sort((a, b) => a.at - b.at)
      for (const event of events) {
        yield* TestClock.adjust(event.at - elapsed)
        elapsed = event.at
        if (event.index === -1) {
          yield* sup.pause
        } else {
          if (accepted.length > 0) yield* accepted[event.index % accepted.length]!.cancel
        }
      }
      yield* sup.resume
      const finished = yield* Effect.fork(sup[stop])
      yield* TestClock.adjust("10 seconds")
      const summary = yield* Fiber.join(finished)
      yield* Fiber.join(submitter)
      const outcomes = yield* Effect.forEach(accepted, (handle) => handle.await)
      expect(violations).toBe(0)
      expect(outcomes.map((o) => o.task.id)).toEqual(tasks.slice(0, accepted.length).map((t) => t.id))
      const s = summary.stats
      expect(s.submitted).toBe(accepted.length)
      expect(s.queued + s.running).toBe(0)
      expect(s.succeeded + s.interrupted).toBe(s.submitted)
      expect(outcomes.filter((o) => o._tag === "Interrupted").length).toBe(s.interrupted)
      expect([...running.values()].every((n) => n === 0)).toBe(true)
    })),
  { fastCheck: { numRuns: 100, timeout: 3000 } }
)

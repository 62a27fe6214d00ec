/**
 * `execute`'s shortcut: with a worker parked and nothing waiting, a bare sync attempt runs in
 * the caller on that worker's behalf. What must not change: one outcome per task, counts, the
 * fold, `outcomes`, the worker bound, FIFO order, pause, and the handler called once per task.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, FastCheck as fc, Fiber, Stream, TestClock } from "effect"
import { Supervisor } from "effect-supervisor"

/** Lets every ready fiber run (no time passes). */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("execute with a sync handler on an idle supervisor", () => {
  it.scoped("gets its value, and is counted, folded and published like any task", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) => Effect.sync(() => n * 10),
        initial: 0,
        combine: (sum: number, x: number) => sum + x
      })
      const outcomes = yield* Effect.fork(Stream.runCollect(Stream.take(sup.outcomes, 3)))
      yield* settle
      const values = [yield* sup.execute(1), yield* sup.execute(2), yield* sup.execute(3)]
      expect(values).toEqual([10, 20, 30])
      expect(yield* sup.stats).toMatchObject({ submitted: 3, succeeded: 3, queued: 0, running: 0 })
      yield* sup.awaitIdle
      expect(yield* sup.state).toBe(60)
      const seen = Chunk.toArray(yield* Fiber.join(outcomes))
      expect(seen.map((o) => o._tag === "Success" && [o.task, o.value])).toEqual([[1, 10], [2, 20], [3, 30]])
    }))

  it.scoped("a throwing thunk fails that execute with the defect; the next one runs", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) =>
          Effect.sync(() => {
            if (n === 2) throw new Error("thunk boom")
            return n
          })
      })
      yield* settle
      const exit = yield* Effect.exit(sup.execute(2))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "thunk boom" })
      expect(yield* sup.execute(3)).toBe(3)
      expect(yield* sup.stats).toMatchObject({ submitted: 2, succeeded: 1, defects: 1, restarts: 0 })
    }))

  it.scoped("calls the handler once per execute, whether its effect is sync or not", () =>
    Effect.gen(function*() {
      let calls = 0
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) => {
          calls++
          return n % 2 === 0 ? Effect.delay(Effect.succeed(-n), "1 second") : Effect.succeed(n)
        }
      })
      yield* settle
      const all = yield* Effect.fork(Effect.forEach([1, 2, 3, 4, 5, 6], (n) => sup.execute(n), { concurrency: 3 }))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(all)).toEqual([1, -2, 3, -4, 5, -6])
      expect(calls).toBe(6)
      expect(yield* sup.stats).toMatchObject({ submitted: 6, succeeded: 6, running: 0 })
    }))

  it.scoped("never exceeds the workers: with the only worker busy, a sync task waits its turn", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) =>
          n === 0
            ? Effect.sync(() => order.push("slow starts")).pipe(
              Effect.zipRight(Effect.sleep("1 second")),
              Effect.zipRight(Effect.sync(() => order.push("slow ends"))),
              Effect.as(0)
            )
            : Effect.sync(() => {
              order.push(`sync ${n}`)
              return n
            })
      })
      yield* settle
      const slow = yield* Effect.fork(sup.execute(0))
      yield* settle
      const quick = yield* Effect.fork(sup.execute(1))
      yield* settle
      expect(order).toEqual(["slow starts"])
      expect(yield* sup.stats).toMatchObject({ running: 1, queued: 1 })
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe(0)
      expect(yield* Fiber.join(quick)).toBe(1)
      expect(order).toEqual(["slow starts", "slow ends", "sync 1"])
    }))

  it.scoped("does not run while paused; resumes in order", () =>
    Effect.gen(function*() {
      const order: Array<number> = []
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) => Effect.sync(() => order.push(n))
      })
      yield* settle
      yield* sup.pause
      const first = yield* Effect.fork(sup.execute(1))
      yield* settle
      const second = yield* Effect.fork(sup.execute(2))
      yield* settle
      expect(order).toEqual([])
      yield* sup.resume
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(order).toEqual([1, 2])
    }))

  it.scoped("fails with SupervisorClosed once stopping", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n) })
      yield* settle
      yield* sup.shutdown
      const exit = yield* Effect.exit(sup.execute(1))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "SupervisorClosed" })
    }))
})

describe("workers after sync tasks", () => {
  it.scoped("sync tasks run in whole chunks; tasks that wait still spread over every worker", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 4,
        handler: (n: number) => n < 100 ? Effect.succeed(n) : Effect.as(Effect.sleep("1 second"), n)
      })
      yield* settle
      yield* sup.submitAll(Array.from({ length: 50 }, (_, i) => i))
      yield* sup.awaitIdle
      // one chunk: the first waits, so helpers take the rest of it
      yield* sup.submitAll([1, 100, 101, 102, 103, 104, 105, 106, 107])
      yield* settle
      expect(yield* sup.stats).toMatchObject({ succeeded: 51, running: 4 })
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sup.stats).toMatchObject({ succeeded: 55, running: 4 })
      yield* TestClock.adjust("1 second")
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ submitted: 59, succeeded: 59 })
    }))
})

describe("execute whose handler was called in place but waits", () => {
  it.scoped("goes straight to the parked worker: a sliding queue cannot drop it as unstarted", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 1,
        strategy: "sliding",
        handler: (n: number) => n === 0 ? Effect.as(Effect.sleep("1 second"), 0) : Effect.succeed(n)
      })
      yield* settle
      const slow = yield* Effect.fork(sup.execute(0))
      yield* Effect.yieldNow()
      yield* sup.submit(1)
      yield* sup.submit(2) // slides 1 out, never the task already handed to the worker
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe(0)
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ submitted: 3, succeeded: 2, dropped: 1 })
      expect(summary.pending).toEqual([1])
    }))

  it.scoped("paused before its worker began: back in the queue as started, which a sliding queue passes over", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const sup = yield* Supervisor.make({
        workers: 2,
        capacity: 1,
        strategy: "sliding",
        handler: (n: number) => {
          calls.push(n)
          return n === 0 ? Effect.as(Effect.sleep("1 second"), 0) : Effect.succeed(n)
        }
      })
      yield* settle
      const slow = yield* Effect.fork(sup.execute(0))
      yield* Effect.yieldNow() // the caller calls the handler and hands the task to a parked worker
      yield* sup.pause // before that worker's fiber began: it hands the task back to the queue
      yield* settle
      expect(yield* sup.stats).toMatchObject({ queued: 1, running: 0 })
      yield* sup.submit(1) // the queue is full, and only a task that has not started may slide out
      yield* sup.submit(2) // slides 1 out
      yield* sup.resume
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe(0)
      const summary = yield* sup.shutdown
      expect(calls).toEqual([0, 2])
      expect(summary.stats).toMatchObject({ submitted: 3, succeeded: 2, dropped: 1 })
      expect(summary.pending).toEqual([1])
    }))

  it.scoped("its caller interrupted while it waits to run: it has started, so it runs on", () =>
    Effect.gen(function*() {
      let ran = 0
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.as(Effect.sync(() => ran++).pipe(Effect.delay("1 second")), n)
      })
      yield* settle
      const caller = yield* Effect.fork(sup.execute(7))
      yield* Effect.yieldNow() // the caller calls the handler and hands the task to the parked worker
      yield* sup.pause // before that worker's fiber began: it hands the task back to the queue
      yield* settle
      yield* Fiber.interrupt(caller)
      yield* sup.resume
      yield* TestClock.adjust("1 second")
      yield* sup.awaitIdle
      expect(ran).toBe(1)
      expect(yield* sup.stats).toMatchObject({ submitted: 1, succeeded: 1, interrupted: 0 })
    }))

  it.scoped("a stop before its worker began: Interrupted, and not pending (its handler was called)", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler: (_: number) => Effect.never })
      const caller = yield* Effect.fork(Effect.exit(sup.execute(7)))
      yield* Effect.yieldNow()
      const summary = yield* sup.shutdownNow
      const exit = yield* Fiber.join(caller)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "TaskInterrupted" })
      expect(summary.stats).toMatchObject({ submitted: 1, interrupted: 1 })
      expect(summary.pending).toEqual([])
    }))
})

/** `HANDOFF_RUNS=10000 npx vitest run test/ExecuteInPlace.test.ts` runs more. */
const handOffRuns = Number(process.env.HANDOFF_RUNS ?? 1000)

type HandOff =
  | { readonly _tag: "execute"; readonly millis: number }
  | { readonly _tag: "submit" }
  | { readonly _tag: "pause" | "resume" }
  | { readonly _tag: "resize"; readonly workers: number }
  | { readonly _tag: "interrupt"; readonly index: number }
  | { readonly _tag: "yield"; readonly times: number }

const handOff: fc.Arbitrary<HandOff> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ _tag: fc.constant("execute" as const), millis: fc.integer({ min: 0, max: 3 }) })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("submit" as const) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constantFrom("pause" as const, "resume" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("resize" as const), workers: fc.integer({ min: 1, max: 3 }) })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("interrupt" as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("yield" as const), times: fc.integer({ min: 1, max: 3 }) }) }
)

// test/chaos.test.ts covers everything at once; this one aims at the window between a caller's
// hand-off (its handler called in place) and the worker that runs the attempt
it.effect.prop(
  "hand-offs under pause, resize and interrupted callers: a started task is never dropped or cancelled",
  {
    actions: fc.array(handOff, { maxLength: 14 }),
    workers: fc.integer({ min: 1, max: 3 }),
    capacity: fc.integer({ min: 1, max: 3 }),
    strategy: fc.constantFrom("suspend" as const, "dropping" as const, "sliding" as const)
  },
  ({ actions, capacity, strategy, workers }) =>
    Effect.scoped(Effect.gen(function*() {
      const started = new Set<number>()
      const startedWhenInterrupted = new Set<number>()
      const sup = yield* Supervisor.make({
        workers,
        capacity,
        strategy,
        outcomesBuffer: 1000,
        handler: (task: { readonly id: number; readonly millis: number }) => {
          started.add(task.id)
          return task.millis === 0 ? Effect.succeed(task.id) : Effect.as(Effect.sleep(task.millis), task.id)
        }
      })
      const outcomes: Array<{ readonly _tag: string; readonly id: number }> = []
      yield* Effect.fork(
        Stream.runForEach(sup.outcomes, (o) => Effect.sync(() => outcomes.push({ _tag: o._tag, id: o.task.id })))
      )
      yield* settle
      const callers: Array<{ readonly id: number; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> }> = []
      let id = 0
      for (const action of actions) {
        switch (action._tag) {
          case "execute": {
            const task = { id: id++, millis: action.millis }
            callers.push({ id: task.id, fiber: yield* Effect.fork(sup.execute(task)) })
            break
          }
          case "submit":
            yield* Effect.fork(sup.submit({ id: id++, millis: 1 }))
            break
          case "pause":
            yield* sup.pause
            break
          case "resume":
            yield* sup.resume
            break
          case "resize":
            yield* Effect.ignore(sup.resize(action.workers))
            break
          case "interrupt":
            if (callers.length > 0) {
              const caller = callers[action.index % callers.length]!
              if (started.has(caller.id)) startedWhenInterrupted.add(caller.id)
              yield* Fiber.interrupt(caller.fiber)
            }
            break
          case "yield":
            yield* Effect.repeatN(Effect.yieldNow(), action.times)
            break
        }
        // what an action forked runs before the next action: a pause right after an execute
        // then lands between the caller's hand-off and the worker's first step
        yield* Effect.yieldNow()
      }
      yield* sup.resume
      const stopping = yield* Effect.fork(sup.shutdown)
      yield* TestClock.adjust("1 minute")
      const summary = yield* Fiber.join(stopping)
      yield* settle
      const ids = outcomes.map((o) => o.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(summary.stats.submitted).toBe(ids.length)
      // a graceful stop of finite tasks: nothing that started ends Dropped or Interrupted
      expect(outcomes.filter((o) => o._tag === "Dropped" && started.has(o.id))).toEqual([])
      expect(outcomes.filter((o) => o._tag === "Interrupted" && startedWhenInterrupted.has(o.id))).toEqual([])
    })),
  { fastCheck: { numRuns: handOffRuns }, timeout: 30_000 + handOffRuns * 30 }
)

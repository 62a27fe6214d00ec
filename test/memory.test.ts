/**
 * A long-lived supervisor must not grow without bound (issue 9, defect 14): what it keeps of
 * its outcomes is bounded by its retention options, and a subscriber that stops reading holds
 * at most `outcomesBuffer` outcomes. Each scenario pushes 200,000 tasks through one `make`,
 * measuring the heap after a full collection before and after. Keeping everything would cost
 * 200–400 MB here (a failure holds an error with its stack, ~2 KB; a dropped task is ~1 KB).
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Stream } from "effect"
import { Supervisor } from "effect-supervisor"
import { heapAfterGc } from "./fixtures/gc.js"

const TASKS = 200_000
const WARM_UP = 5_000
const MAX_GROWTH = 50 * 1024 * 1024

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

function* numbers(from: number, count: number): Generator<number> {
  for (let n = from; n < from + count; n++) yield n
}

/** Heap growth, in bytes, over `work` (after a full collection on both sides). */
const heapGrowth = <A, E, R>(work: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* Effect.sync(heapAfterGc)
    yield* work
    return (yield* Effect.sync(heapAfterGc)) - before
  })

const failing = (n: number) => Effect.fail(new Boom({ n }))

describe("memory of a long-lived supervisor", () => {
  it.live("200,000 failing tasks grow the heap by less than 50 MB; the last 1000 failures are kept", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 4, handler: failing })
      // warm-up: code is compiled and the retained failures reach their bound
      yield* sup.submitAll(numbers(0, WARM_UP))
      yield* sup.awaitIdle
      const grown = yield* heapGrowth(Effect.zipRight(sup.submitAll(numbers(WARM_UP, TASKS)), sup.awaitIdle))
      expect((yield* sup.stats).failed).toBe(WARM_UP + TASKS)
      expect(grown).toBeLessThan(MAX_GROWTH)
      const summary = yield* sup.shutdown
      expect(summary.failures.map((failure) => failure.task)).toEqual([...numbers(WARM_UP + TASKS - 1000, 1000)])
    })))

  it.live("a subscriber that never reads on: 200,000 failing tasks grow the heap by less than 50 MB", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 4, handler: failing })
      const reading = yield* Deferred.make<void>()
      // reads one outcome, then is stuck for good
      yield* Effect.forkScoped(
        Stream.runForEach(sup.outcomes, () => Effect.zipRight(Deferred.succeed(reading, void 0), Effect.never))
      )
      // the subscription starts when the forked stream runs: probe until it has read something
      for (let probe = 0; !(yield* Deferred.isDone(reading)); probe++) {
        expect(probe).toBeLessThan(100)
        yield* sup.submit(-1)
        yield* sup.awaitIdle
      }
      yield* sup.submitAll(numbers(0, WARM_UP))
      yield* sup.awaitIdle
      const grown = yield* heapGrowth(Effect.zipRight(sup.submitAll(numbers(WARM_UP, TASKS)), sup.awaitIdle))
      expect((yield* sup.stats).failed).toBeGreaterThanOrEqual(WARM_UP + TASKS)
      expect(grown).toBeLessThan(MAX_GROWTH)
    })))

  it.live("200,000 tasks dropped by a full \"dropping\" queue grow the heap by less than 50 MB", () =>
    Effect.scoped(Effect.gen(function*() {
      interface Job {
        readonly id: number
        /** ~1 KB, so that keeping every dropped task would show */
        readonly payload: ReadonlyArray<number>
      }
      const job = (id: number): Job => ({ id, payload: new Array<number>(128).fill(id) })
      function* jobs(from: number, count: number): Generator<Job> {
        for (const id of numbers(from, count)) yield job(id)
      }
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 1,
        strategy: "dropping",
        handler: (_: Job) => Deferred.await(gate)
      })
      yield* sup.submit(job(-2)) // runs, and holds the only worker
      for (let wait = 0; (yield* sup.stats).running === 0; wait++) {
        expect(wait).toBeLessThan(1000)
        yield* Effect.yieldNow()
      }
      yield* sup.submit(job(-1)) // fills the queue
      yield* sup.submitAll(jobs(0, WARM_UP))
      const grown = yield* heapGrowth(sup.submitAll(jobs(WARM_UP, TASKS)))
      expect((yield* sup.stats).dropped).toBe(WARM_UP + TASKS)
      expect(grown).toBeLessThan(MAX_GROWTH)
      yield* Deferred.succeed(gate, void 0)
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ succeeded: 2, dropped: WARM_UP + TASKS })
      expect(summary.pending.map((task) => task.id)).toEqual([...numbers(WARM_UP + TASKS - 1000, 1000)])
    })))

  it.live("200,000 tasks pushed out by \"sliding\" behind a started task of a paused queue grow the heap by less than 50 MB", () =>
    Effect.scoped(Effect.gen(function*() {
      const job = (id: number) => ({ id, payload: new Array<number>(128).fill(id) })
      function* jobs(from: number, count: number) {
        for (const id of numbers(from, count)) yield job(id)
      }
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 2,
        strategy: "sliding",
        retain: { dropped: 0 },
        handler: (_: { readonly id: number }) => Effect.never
      })
      // an execute on an idle supervisor hands its task to the parked worker at once; paused
      // before the worker runs it, the task goes back to the head of the queue, started, and
      // stays there while the queue is paused: every task pushed out goes behind it
      yield* Effect.fork(sup.execute(job(-1)))
      yield* Effect.yieldNow()
      yield* sup.pause
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(yield* sup.stats).toMatchObject({ queued: 1, running: 0 })
      yield* sup.submitAll(jobs(0, WARM_UP))
      const grown = yield* heapGrowth(sup.submitAll(jobs(WARM_UP, TASKS)))
      expect((yield* sup.stats).dropped).toBe(WARM_UP + TASKS - 1)
      expect(grown).toBeLessThan(MAX_GROWTH)
    })))
})

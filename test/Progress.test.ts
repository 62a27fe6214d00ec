import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Option, pipe, Scope, Stream, TestClock } from "effect"
import { Errors, Supervisor } from "effect-supervisor"

/** A snapshot as the tests spell it: counts, elapsed and ETA in millis. */
const view = (p: Supervisor.Progress) => ({
  done: p.done,
  total: p.total,
  succeeded: p.succeeded,
  failed: p.failed,
  defects: p.defects,
  interrupted: p.interrupted,
  dropped: p.dropped,
  elapsed: Duration.toMillis(p.elapsed),
  ratePerSecond: p.ratePerSecond,
  eta: Option.map(p.eta, Duration.toMillis)
})

const counts = { succeeded: 0, failed: 0, defects: 0, interrupted: 0, dropped: 0 }

/** `n < 0` fails, `n` millis of sleep otherwise. */
const sleeper = (workers: number) =>
  Supervisor.make({
    workers,
    handler: (n: number) => (n < 0 ? Effect.fail("negative" as const) : Effect.sleep(Duration.millis(n)))
  })

/**
 * Runs `stream` with its first snapshot taken now (so it sees the supervisor as it is at this
 * point of the test) and the rest collected in a fiber; join the result.
 */
const watch = (stream: Stream.Stream<Supervisor.Progress, Errors.InvalidOptions>) =>
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(stream)
    const first = yield* pull
    const rest = yield* Effect.fork(Stream.runCollect(Stream.repeatEffectChunkOption(pull)))
    return Effect.map(rest, (chunk) => [...first, ...chunk].map(view))
  })

describe("Supervisor.progress", () => {
  it.effect("a snapshot at the start, at most one per tick while done moves, the last at once when the batch ends", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      const snapshots = yield* watch(Supervisor.progress(sup, { total: 4, every: "250 millis" }))
      // tasks end at 50 and 200 (one snapshot at the tick at 250), at 400 (tick at 500), and at
      // 800: nothing moved at the tick at 750, the last snapshot comes as the batch ends
      yield* sup.submitAll([50, 150, 200, 400])
      yield* TestClock.adjust("800 millis")
      expect(yield* snapshots).toEqual([
        { ...counts, done: 0, total: 4, elapsed: 0, ratePerSecond: 0, eta: Option.none() },
        { ...counts, done: 2, total: 4, succeeded: 2, elapsed: 250, ratePerSecond: 8, eta: Option.some(250) },
        // 1 left at 3 per 500 ms: 166.7 ms, rounded
        { ...counts, done: 3, total: 4, succeeded: 3, elapsed: 500, ratePerSecond: 6, eta: Option.some(167) },
        { ...counts, done: 4, total: 4, succeeded: 4, elapsed: 800, ratePerSecond: 5, eta: Option.some(0) }
      ])
    }).pipe(Effect.scoped))

  it.effect("ticks where nothing ended emit nothing", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      const snapshots = yield* watch(pipe(sup, Supervisor.progress({ total: 1, every: "100 millis" })))
      yield* sup.submit(950)
      yield* TestClock.adjust("949 millis")
      expect(Chunk.toArray(yield* TestClock.sleeps())).toContain(1000) // the stream's next tick
      yield* TestClock.adjust("1 millis")
      expect((yield* snapshots).map((p) => [p.done, p.elapsed])).toEqual([[0, 0], [1, 950]])
    }).pipe(Effect.scoped))

  it.effect("without a total it counts what is submitted and ends when the supervisor stops", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      // 100 succeeds, -1 fails at 100 ms, 5000 runs from 100 ms, the last 100 waits
      yield* sup.submitAll([100, -1, 5000, 100])
      const snapshots = yield* watch(sup.progress({ every: "200 millis" }))
      yield* TestClock.adjust("400 millis")
      yield* sup.shutdownNow
      expect(yield* snapshots).toEqual([
        { ...counts, done: 0, total: 4, elapsed: 0, ratePerSecond: 0, eta: Option.none() },
        {
          ...counts,
          done: 2,
          total: 4,
          succeeded: 1,
          failed: 1,
          elapsed: 200,
          ratePerSecond: 10,
          eta: Option.some(200)
        },
        {
          ...counts,
          done: 4,
          total: 4,
          succeeded: 1,
          failed: 1,
          interrupted: 2,
          elapsed: 400,
          ratePerSecond: 10,
          eta: Option.some(0)
        }
      ])
    }).pipe(Effect.scoped))

  it.effect("counts over the supervisor's life: a late stream misses nothing; total grows with submissions", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(2)
      yield* sup.submitAll([100, 100, 300])
      yield* TestClock.adjust("200 millis")
      // two tasks ended before the stream started; `total: 2` is less than what was submitted
      const snapshots = yield* watch(sup.progress({ total: 2, every: "1 second" }))
      yield* sup.submit(100)
      yield* TestClock.adjust("100 millis")
      expect(yield* snapshots).toEqual([
        { ...counts, done: 2, total: 3, succeeded: 2, elapsed: 0, ratePerSecond: 0, eta: Option.none() },
        // the rate counts what ended since the stream started: 2 in 100 ms
        { ...counts, done: 4, total: 4, succeeded: 4, elapsed: 100, ratePerSecond: 20, eta: Option.some(0) }
      ])
    }).pipe(Effect.scoped))

  it.effect("the batch is done once the total is reached, not whenever the supervisor is idle", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      const snapshots = yield* watch(sup.progress({ total: 2, every: "250 millis" }))
      yield* sup.submit(100)
      yield* TestClock.adjust("500 millis") // idle from 100 ms on, one task short
      yield* sup.submit(100)
      yield* TestClock.adjust("100 millis")
      // the last snapshot as the second task ends at 600 ms, not at the next tick (750 ms)
      expect((yield* snapshots).map((p) => [p.done, p.total, p.elapsed])).toEqual([
        [0, 2, 0],
        [1, 2, 250],
        [2, 2, 600]
      ])
    }).pipe(Effect.scoped))

  it.effect("a finished batch gives one snapshot; so does a stopped supervisor", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      yield* sup.submitAll([10, -1])
      yield* TestClock.adjust("10 millis")
      const finished = yield* Stream.runCollect(sup.progress({ total: 2 }))
      expect(Chunk.toArray(finished).map((p) => [p.done, p.failed])).toEqual([[2, 1]])
      yield* sup.shutdown
      const stopped = yield* Stream.runCollect(sup.progress())
      expect(Chunk.toArray(stopped).map((p) => [p.done, p.total])).toEqual([[2, 2]])
    }).pipe(Effect.scoped))

  it.effect("closing the supervisor's scope ends the stream", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const sup = yield* Scope.extend(sleeper(1), scope)
      const snapshots = yield* watch(sup.progress({ total: 10 }))
      yield* sup.submitAll([100, 100])
      yield* TestClock.adjust("100 millis")
      yield* Scope.close(scope, Exit.void)
      expect((yield* snapshots).map((p) => [p.done, p.succeeded, p.interrupted])).toEqual([
        [0, 0, 0],
        [2, 1, 1]
      ])
    }).pipe(Effect.scoped))

  it.effect("a slow consumer gets fewer snapshots, never a backlog", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      yield* sup.submitAll(Array.from({ length: 10 }, () => 100)) // one ends every 100 ms
      const snapshots = yield* Effect.fork(
        sup.progress({ total: 10, every: "100 millis" }).pipe(
          Stream.tap(() => Effect.sleep("330 millis")), // the consumer takes 330 ms per snapshot
          Stream.runCollect
        )
      )
      yield* TestClock.adjust("1650 millis") // the consumer sleeps after the last one too
      const seen = Chunk.toArray(yield* Fiber.join(snapshots)).map((p) => [Duration.toMillis(p.elapsed), p.done])
      expect(seen).toEqual([[0, 0], [330, 3], [660, 6], [990, 9], [1320, 10]])
    }).pipe(Effect.scoped))

  it.effect("costs nothing unsubscribed: no timer until a stream runs, then one per tick", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler: (_: number) => Effect.never })
      yield* sup.submit(1)
      yield* TestClock.adjust("5 seconds")
      expect(Chunk.toArray(yield* TestClock.sleeps())).toEqual([])
      const snapshots = yield* watch(sup.progress({ every: "1 second" }))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      expect(Chunk.toArray(yield* TestClock.sleeps())).toEqual([6000])
      yield* sup.shutdownNow
      expect((yield* snapshots).map((p) => [p.done, p.interrupted])).toEqual([[0, 0], [1, 1]])
    }).pipe(Effect.scoped))
  it.effect("invalid options fail the stream with InvalidOptions", () =>
    Effect.gen(function*() {
      const sup = yield* sleeper(1)
      const failure = (options: Supervisor.ProgressOptions) => Effect.flip(Stream.runDrain(sup.progress(options)))
      expect(yield* failure({ every: 0 })).toEqual(
        new Errors.InvalidOptions({ message: "every must be a positive Duration input (e.g. \"100 millis\"), got 0" })
      )
      expect((yield* failure({ every: "soon" as Duration.DurationInput })).message).toBe(
        "every must be a positive Duration input (e.g. \"100 millis\"), got \"soon\""
      )
      expect((yield* failure({ total: 1.5 })).message).toBe("total must be an integer >= 0, got 1.5")
      expect((yield* failure({ total: -1 })).message).toBe("total must be an integer >= 0, got -1")
    }).pipe(Effect.scoped))
})

describe("Supervisor.runWithProgress", () => {
  it.effect("runs the batch with the observer alongside; the summary once the stream ended", () =>
    Effect.gen(function*() {
      const seen: Array<ReturnType<typeof view>> = []
      const fiber = yield* Effect.fork(Supervisor.runWithProgress(
        [100, 100, 300, -1],
        {
          workers: 2,
          handler: (n: number) => (n < 0 ? Effect.fail("negative" as const) : Effect.sleep(Duration.millis(n))),
          initial: 0,
          combine: (done) => done + 1
        },
        (progress) => Stream.runForEach(progress, (p) => Effect.sync(() => seen.push(view(p)))),
        "200 millis"
      ))
      // two workers: three tasks have ended by the tick at 200, the last (300) ends at 300
      yield* TestClock.adjust("400 millis")
      const summary = yield* Fiber.join(fiber)
      expect(summary.state).toBe(3)
      expect(summary.stats).toMatchObject({ submitted: 4, succeeded: 3, failed: 1 })
      expect(seen).toEqual([
        { ...counts, done: 0, total: 4, elapsed: 0, ratePerSecond: 0, eta: Option.none() },
        {
          ...counts,
          done: 3,
          total: 4,
          succeeded: 2,
          failed: 1,
          elapsed: 200,
          ratePerSecond: 15,
          eta: Option.some(67)
        },
        {
          ...counts,
          done: 4,
          total: 4,
          succeeded: 3,
          failed: 1,
          elapsed: 300,
          ratePerSecond: 4 / 0.3,
          eta: Option.some(0)
        }
      ])
    }))

  it.effect("an observer that fails fails the batch after it ran to its end", () =>
    Effect.gen(function*() {
      let ran = 0
      const exit = yield* Effect.exit(Supervisor.runWithProgress(
        [1, 2, 3],
        { workers: 1, handler: (_: number) => Effect.sync(() => ran++) },
        () => Effect.fail("observer broke" as const)
      ))
      expect(exit).toEqual(Exit.fail("observer broke"))
      expect(ran).toBe(3)
    }))
})

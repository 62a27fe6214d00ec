import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, Supervisor as FiberSupervisor, TestClock } from "effect"
import { Errors, Supervisor } from "effect-supervisor"

const settle = Effect.repeatN(Effect.yieldNow(), 30)

interface Job {
  readonly key: string
  readonly n: number
  readonly priority?: number
}

/** A handler that logs starts and ends and takes `millis` of virtual time. */
const tracing = (log: Ref.Ref<Array<string>>, millis = 100) => (job: Job) =>
  Effect.zipRight(
    Ref.update(log, (l) => [...l, `+${job.key}${job.n}`]),
    Effect.ensuring(Effect.sleep(millis), Ref.update(log, (l) => [...l, `-${job.key}${job.n}`]))
  )

const starts = (log: ReadonlyArray<string>) => log.filter((l) => l.startsWith("+")).map((l) => l.slice(1))

describe("per-key concurrency and fairness", () => {
  it.effect("perKey 1, 3 keys x 5 tasks: never two of a key at once, per-key order kept, keys interleave", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 3, key: (job: Job) => job.key, perKey: 1, handler: tracing(log) })
      const jobs = ["a", "b", "c"].flatMap((key) => [1, 2, 3, 4, 5].map((n) => ({ key, n })))
      yield* sup.submitAll(jobs)
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* sup.awaitIdle
      const events = yield* Ref.get(log)
      const running = new Map<string, number>()
      for (const event of events) {
        const key = event[1]!
        running.set(key, (running.get(key) ?? 0) + (event[0] === "+" ? 1 : -1))
        expect(running.get(key)).toBeLessThanOrEqual(1)
      }
      const started = starts(events)
      for (const key of ["a", "b", "c"]) {
        expect(started.filter((s) => s[0] === key)).toEqual([1, 2, 3, 4, 5].map((n) => `${key}${n}`))
      }
      expect(started.slice(0, 3).map((s) => s[0]).sort()).toEqual(["a", "b", "c"])
      expect(started.slice(3, 6).map((s) => s[0]).sort()).toEqual(["a", "b", "c"])
      // with 3 keys on 3 workers, 15 tasks of 100 ms take 5 rounds
      expect(events.length).toBe(30)
    })))

  it.effect("a key with 1000 queued tasks does not starve a key submitted after it", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 2, key: (job: Job) => job.key, handler: tracing(log, 10) })
      yield* sup.submitAll(Array.from({ length: 1000 }, (_, i) => ({ key: "big", n: i })))
      yield* sup.submit({ key: "small", n: 0 })
      yield* settle
      yield* TestClock.adjust("30 millis")
      const started = starts(yield* Ref.get(log))
      const position = started.indexOf("small0")
      expect(position).toBeGreaterThanOrEqual(0)
      expect(position).toBeLessThanOrEqual(3)
    })))

  it.effect("capacity counts queued tasks across keys", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 3,
        key: (job: Job) => job.key,
        handler: (_: Job) => Deferred.await(gate)
      })
      yield* sup.submit({ key: "a", n: 0 })
      yield* settle
      yield* sup.submitAll([{ key: "a", n: 1 }, { key: "b", n: 1 }, { key: "c", n: 1 }])
      expect(yield* sup.offer({ key: "d", n: 1 })).toBe(false)
      const blocked = yield* Effect.fork(sup.submit({ key: "e", n: 1 }))
      yield* settle
      expect(blocked.unsafePoll()).toBeNull()
      expect(yield* sup.stats).toMatchObject({ queued: 3, running: 1 })
      yield* Deferred.succeed(gate, void 0)
      yield* Fiber.join(blocked)
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ submitted: 5, succeeded: 5 })
    })))
})

describe("priorities", () => {
  it.effect("higher priority first; equal priorities keep submission order", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        priority: (job: Job) => job.priority ?? 0,
        handler: (job: Job) => job.n === 0 ? Deferred.await(gate) : Ref.update(log, (l) => [...l, `${job.key}${job.n}`])
      })
      yield* sup.submit({ key: "x", n: 0 }) // occupies the worker while the rest queue up
      yield* settle
      yield* sup.submitAll([
        { key: "low", n: 1, priority: 1 },
        { key: "high", n: 1, priority: 5 },
        { key: "low", n: 2, priority: 1 },
        { key: "mid", n: 1, priority: 3 },
        { key: "high", n: 2, priority: 5 },
        { key: "low", n: 3, priority: 1 }
      ])
      yield* Deferred.succeed(gate, void 0)
      yield* sup.awaitIdle
      expect(yield* Ref.get(log)).toEqual(["high1", "high2", "mid1", "low1", "low2", "low3"])
    })))

  it.effect("with keys, priority orders tasks within a key; keys still rotate", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        key: (job: Job) => job.key,
        priority: (job: Job) => job.priority ?? 0,
        handler: (job: Job) => job.n === 0 ? Deferred.await(gate) : Ref.update(log, (l) => [...l, `${job.key}${job.n}`])
      })
      yield* sup.submit({ key: "z", n: 0 })
      yield* settle
      yield* sup.submitAll([
        { key: "a", n: 1, priority: 0 },
        { key: "a", n: 2, priority: 9 },
        { key: "b", n: 1, priority: 0 },
        { key: "b", n: 2, priority: 9 }
      ])
      yield* Deferred.succeed(gate, void 0)
      yield* sup.awaitIdle
      expect(yield* Ref.get(log)).toEqual(["a2", "b2", "a1", "b1"])
    })))
})

describe("pause and resume", () => {
  it.effect("pause keeps tasks queued (running ones finish); resume releases them", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 2, handler: tracing(log) })
      yield* sup.submitAll([1, 2, 3, 4, 5, 6].map((n) => ({ key: "t", n })))
      yield* settle
      yield* sup.pause
      yield* TestClock.adjust("1 second")
      const whilePaused = yield* Ref.get(log)
      expect(starts(whilePaused).length).toBe(2)
      expect(whilePaused.filter((l) => l.startsWith("-")).length).toBe(2)
      expect(yield* sup.stats).toMatchObject({ queued: 4, running: 0, paused: 4, succeeded: 2, dropped: 0 })
      yield* sup.resume
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ succeeded: 6, paused: 0, queued: 0 })
    })))

  it.effect("pauseKey holds only that key", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 2, key: (job: Job) => job.key, handler: tracing(log) })
      yield* sup.pauseKey("a")
      yield* sup.submitAll([1, 2, 3].flatMap((n) => [{ key: "a", n }, { key: "b", n }]))
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(starts(yield* Ref.get(log))).toEqual(["b1", "b2", "b3"])
      expect(yield* sup.stats).toMatchObject({ queued: 3, paused: 3, succeeded: 3 })
      yield* sup.resumeKey("a")
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* sup.awaitIdle
      expect(starts(yield* Ref.get(log)).slice(3)).toEqual(["a1", "a2", "a3"])
    })))

  it.effect("shutdown lifts a pause so the queue can drain", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n) })
      yield* sup.pause
      yield* sup.submitAll([1, 2, 3])
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ succeeded: 3, paused: 0 })
    })))
})

describe("resize", () => {
  it.effect("growing starts new workers at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 1, handler: tracing(log) })
      yield* sup.submitAll([1, 2, 3, 4].map((n) => ({ key: "t", n })))
      yield* settle
      expect((yield* sup.stats).running).toBe(1)
      yield* sup.resize(4)
      yield* settle
      expect(yield* sup.stats).toMatchObject({ running: 4, workers: 4 })
    })))

  it.effect("shrinking never interrupts; running count stays within the new size afterwards", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const sup = yield* Supervisor.make({ workers: 4, handler: tracing(log) })
      yield* sup.submitAll(Array.from({ length: 12 }, (_, n) => ({ key: "t", n })))
      yield* settle
      expect((yield* sup.stats).running).toBe(4)
      yield* sup.resize(2)
      yield* settle
      expect((yield* sup.stats).running).toBe(4) // running tasks go on
      for (let step = 0; step < 10; step++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
        expect((yield* sup.stats).running).toBeLessThanOrEqual(2)
      }
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ succeeded: 12, interrupted: 0, workers: 2 })
    })))

  it.effect("resize below 1 is InvalidOptions", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n) })
      const error = yield* Effect.flip(sup.resize(0))
      expect(error).toBeInstanceOf(Errors.InvalidOptions)
      expect(error.message).toBe("workers must be an integer >= 1, got 0")
    })))
})

describe("handles and cancel", () => {
  it.effect("cancel a queued, a running and a finished task; every task still has exactly one outcome", () =>
    Effect.scoped(Effect.gen(function*() {
      const finalized = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) =>
          n === 0 ?
            Effect.succeed(n) :
            Effect.onInterrupt(Effect.as(Effect.sleep("1 second"), n), () => Ref.update(finalized, (f) => [...f, n]))
      })
      const finished = yield* sup.submitWithHandle(0)
      expect(yield* finished.await).toMatchObject({ _tag: "Success", value: 0 })
      const running = yield* sup.submitWithHandle(1)
      const queued = yield* sup.submitWithHandle(2)
      const last = yield* sup.submitWithHandle(3)
      yield* settle
      yield* finished.cancel
      yield* queued.cancel
      yield* running.cancel
      expect(yield* running.await).toMatchObject({ _tag: "Interrupted", task: 1 })
      expect(yield* queued.await).toMatchObject({ _tag: "Interrupted", task: 2 })
      expect(yield* finished.await).toMatchObject({ _tag: "Success", task: 0 })
      expect(yield* Ref.get(finalized)).toEqual([1])
      yield* TestClock.adjust("1 second")
      expect(yield* last.await).toMatchObject({ _tag: "Success", value: 3 })
      yield* last.cancel // finished: no-op
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ submitted: 4, succeeded: 2, interrupted: 2, running: 0, queued: 0 })
      expect(summary.pending).toEqual([])
    })))
})

describe("scheduling options", () => {
  it.effect("perKey without key, a non-function key and perKey 0 are InvalidOptions", () =>
    Effect.gen(function*() {
      const handler = (n: number) => Effect.succeed(n)
      const noKey = yield* Effect.flip(Supervisor.run([1], { workers: 1, perKey: 2, handler }))
      expect(noKey.message).toContain("perKey needs a key function")
      const badKey = yield* Effect.flip(Supervisor.run([1], { workers: 1, key: "tenant" as any, handler }))
      expect(badKey.message).toBe("key must be a function (task) => string, got \"tenant\"")
      const zero = yield* Effect.flip(Supervisor.run([1], { workers: 1, key: String, perKey: 0, handler }))
      expect(zero.message).toBe("perKey must be an integer >= 1, got 0")
    }))
})

describe("waking parked workers", () => {
  // Parked workers are woken one after another as work is found (not one per task): a burst
  // must still reach every worker, or slow tasks would queue behind a few awake ones.
  it.effect("sync tasks refilled into a bounded queue run on the worker already running them, not on all 1024", () =>
    Effect.scoped(Effect.gen(function*() {
      // counts the fibers started under it: the supervisor's workers are forked from its runtime
      class Starts extends FiberSupervisor.AbstractSupervisor<number> {
        started = 0
        value = Effect.sync(() => this.started)
        override onStart() {
          this.started++
        }
      }
      const starts = new Starts()
      let sum = 0
      const sup = yield* Effect.supervised(
        Supervisor.make({
          workers: 1024,
          capacity: 256,
          handler: (n: number) =>
            Effect.sync(() => {
              sum += n
            })
        }),
        starts
      )
      const before = starts.started
      // the producer suspends while the queue is full, and refills it as the worker empties it
      yield* sup.submitAll(Array.from({ length: 20_000 }, (_, i) => i))
      yield* sup.awaitIdle
      expect(sum).toBe((20_000 * 19_999) / 2)
      expect(yield* sup.stats).toMatchObject({ succeeded: 20_000, queued: 0, running: 0 })
      // each refill used to wake (start) one more dormant worker: ~300 fibers here
      expect(starts.started - before).toBeLessThanOrEqual(4)
    })))

  it.effect("a burst of slow tasks onto 256 parked workers runs them all at once", () =>
    Effect.scoped(Effect.gen(function*() {
      let running = 0
      let most = 0
      const sup = yield* Supervisor.make({
        workers: 256,
        capacity: 4096,
        handler: (_: number) =>
          Effect.ensuring(
            Effect.zipRight(
              Effect.sync(() => {
                most = Math.max(most, ++running)
              }),
              Effect.sleep("1 second")
            ),
            Effect.sync(() => running--)
          )
      })
      yield* settle
      yield* sup.submitAll(Array.from({ length: 256 }, (_, i) => i))
      yield* settle
      expect(most).toBe(256)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sup.stats).toMatchObject({ succeeded: 256, running: 0, queued: 0 })
      // a second burst after everyone parked again
      yield* sup.submitAll(Array.from({ length: 300 }, (_, i) => i))
      yield* settle
      expect(running).toBe(256)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(running).toBe(44)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sup.stats).toMatchObject({ succeeded: 556, running: 0, queued: 0 })
    })))
})

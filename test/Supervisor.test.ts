import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Context,
  Data,
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  Option,
  Ref,
  Stream,
  TestClock
} from "effect"
import { Errors, Outcome, Supervisor } from "effect-supervisor"

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

/** Lets every ready fiber run (no time passes). */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe("Supervisor: the seeds", () => {
  it.effect("sum of squares of 1..100 with 5 workers is 338350", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(range(100), {
        workers: 5,
        handler: (n: number) => Effect.succeed(n * n),
        initial: 0,
        combine: (sum: number, square: number) => sum + square
      })
      expect(summary.state).toBe(338350)
      expect(summary.stats).toMatchObject({ submitted: 100, succeeded: 100, queued: 0, running: 0, failed: 0 })
      expect(summary.failures).toEqual([])
      expect(summary.pending).toEqual([])
    }))

  it.effect("doubles payloads 1..10 on 3 workers, each task its own result", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 3, handler: (n: number) => Effect.succeed(n * 2) })
      const results = yield* Effect.forEach(range(10), (n) => sup.execute(n), { concurrency: "unbounded" })
      expect(results).toEqual(range(10).map((n) => n * 2))
      const stats = yield* sup.stats
      expect(stats).toMatchObject({ submitted: 10, succeeded: 10, queued: 0, running: 0 })
    })))

  it.effect("folds successes with the task; ordering is not assumed", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(range(50), {
        workers: 4,
        handler: (n: number) => Effect.as(Effect.sleep(`${(n * 7) % 5} millis`), n),
        initial: [] as ReadonlyArray<number>,
        combine: (seen, value, task) => {
          expect(value).toBe(task)
          return [...seen, value]
        }
      }).pipe(Effect.fork, Effect.tap(() => TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      expect([...summary.state].sort((a, b) => a - b)).toEqual(range(50))
    }))
})

describe("Supervisor: outcomes", () => {
  it.effect("a handler that returns no Effect: the task's defect says what it returned", () =>
    Effect.scoped(Effect.gen(function*() {
      const returned: ReadonlyArray<unknown> = [Promise.resolve(1), undefined, 42]
      const sup = yield* Supervisor.make({
        workers: 2,
        // what a JavaScript caller (or a cast) can hand in: an async function, a missing return
        handler: (i: number) => returned[i] as Effect.Effect<number>
      })
      const exits = yield* Effect.forEach([0, 1, 2], (i) => Effect.exit(sup.execute(i)))
      const messages = exits.map((exit) =>
        Exit.isFailure(exit) && Cause.isDie(exit.cause) ? String(Cause.squash(exit.cause)) : "not a defect"
      )
      expect(messages).toEqual([
        "TypeError: handler must return an Effect, got a Promise (an async function? wrap the call: Effect.promise(() => ...))",
        "TypeError: handler must return an Effect, got undefined (a missing `return`?)",
        // anything else that is no Effect dies in Effect's runtime, which names it too
        "RuntimeException: Not a valid effect: 42"
      ])
      expect(yield* sup.stats).toMatchObject({ submitted: 3, defects: 3, running: 0 })
    })))

  it.effect("every task ends in exactly one outcome, counted in stats", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 3,
        handler: (n: number): Effect.Effect<number, Boom> =>
          n % 5 === 0 ? Effect.die(`die ${n}`) : n % 3 === 0 ? Effect.fail(new Boom({ n })) : Effect.succeed(n)
      })
      const outcomes = yield* Effect.fork(Stream.runCollect(Stream.take(sup.outcomes, 30)))
      yield* settle
      yield* sup.submitAll(range(30))
      yield* sup.awaitIdle
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(outcomes))
      expect(seen.map((o) => o.task).sort((a, b) => a - b)).toEqual(range(30))
      const byTag = (tag: string) => seen.filter((o) => o._tag === tag).length
      expect({ s: byTag("Success"), f: byTag("Failure"), d: byTag("Defect") }).toEqual({ s: 16, f: 8, d: 6 })
      const stats = yield* sup.stats
      expect(stats).toMatchObject({ submitted: 30, succeeded: 16, failed: 8, defects: 6, queued: 0, running: 0 })
      const summary = yield* sup.shutdown
      expect(summary.failures.length).toBe(14)
      const failure = summary.failures.find((o) => o.task === 3)!
      expect(Outcome.isFailure(failure) && failure.error).toEqual(new Boom({ n: 3 }))
      const defect = summary.failures.find((o) => o.task === 5)!
      expect(Outcome.isDefect(defect) && defect.defect).toBe("die 5")
    })))

  it.effect("typed failures keep their tag through execute; defects stay defects", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number): Effect.Effect<number, Boom> =>
          n < 0 ? Effect.die("negative") : n === 0 ? Effect.fail(new Boom({ n })) : Effect.succeed(n)
      })
      const caught = yield* sup.execute(0).pipe(Effect.catchTag("Boom", (e) => Effect.succeed(-100 - e.n)))
      expect(caught).toBe(-100)
      const exit = yield* Effect.exit(sup.execute(-1))
      expect(
        Exit.isFailure(exit) && Option.getOrNull(Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.some(c))))
      )
        .toBeTruthy()
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBe("negative")
      // the worker survived the defect
      expect(yield* sup.execute(5)).toBe(5)
      expect((yield* sup.stats).defects).toBe(1)
    })))

  it.effect("a handler defect never kills its worker: one worker serves all tasks", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(range(10), {
        workers: 1,
        handler: (n: number) => n % 2 === 0 ? Effect.die(n) : Effect.succeed(n)
      })
      expect(summary.stats).toMatchObject({ succeeded: 5, defects: 5, restarts: 0 })
    }))

  it.effect("outcomes stream ends when the supervisor stops", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 2, handler: (n: number) => Effect.succeed(n) })
      const collected = yield* Effect.fork(Stream.runCollect(sup.outcomes))
      yield* settle
      yield* sup.submitAll([1, 2, 3])
      yield* sup.shutdown
      const outcomes = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(outcomes.map((o) => o._tag)).toEqual(["Success", "Success", "Success"])
    })))
})

describe("Supervisor: a stream of tasks", () => {
  it.effect("submitStream hands a stream over with backpressure; a failing stream fails it", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        capacity: 4,
        handler: (n: number) => Effect.as(Effect.sleep("10 millis"), n),
        initial: 0,
        combine: (sum: number, n: number) => sum + n
      })
      const fed = yield* Effect.fork(sup.submitStream(Stream.range(1, 100)))
      yield* settle
      expect((yield* sup.stats).queued).toBeLessThanOrEqual(4)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fed)
      yield* sup.awaitIdle
      expect(yield* sup.state).toBe(5050)
      const failed = yield* Effect.flip(sup.submitStream(Stream.concat(Stream.make(1), Stream.fail("broken" as const))))
      expect(failed).toBe("broken")
    })))
})

describe("Supervisor: outcomes stream", () => {
  it.effect("publishes Dropped and never-started Interrupted outcomes too", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 1,
        strategy: "dropping",
        handler: (n: number) => Effect.as(Deferred.await(gate), n)
      })
      const collected = yield* Effect.fork(Stream.runCollect(sup.outcomes))
      yield* settle
      yield* sup.submit(1) // runs, blocks
      yield* settle
      yield* sup.submitAll([2, 3]) // 2 waits, 3 is dropped
      yield* sup.shutdownNow // 1 interrupted while running, 2 interrupted before it started
      const outcomes = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(outcomes.map((o) => `${o._tag}:${o.task}`).sort()).toEqual(["Dropped:3", "Interrupted:1", "Interrupted:2"])
    })))
})

describe("Supervisor: backpressure", () => {
  const blocked = (gate: Deferred.Deferred<void>, started: Ref.Ref<Array<number>>) => (n: number) =>
    Effect.zipRight(Ref.update(started, (s) => [...s, n]), Effect.as(Deferred.await(gate), n))

  /** One worker, capacity 2, busy with task 1 until `gate` opens. */
  const busyWithOne = (strategy: "suspend" | "dropping" | "sliding") =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const started = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({ workers: 1, capacity: 2, strategy, handler: blocked(gate, started) })
      yield* sup.submit(1)
      yield* settle
      return { gate, started, sup }
    })

  it.effect("capacity 2, worker blocked: the 3rd waiting submit suspends until a slot frees", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gate, started, sup } = yield* busyWithOne("suspend")
      expect(yield* Ref.get(started)).toEqual([1])
      yield* sup.submit(2)
      yield* sup.submit(3)
      const third = yield* Effect.fork(sup.submit(4))
      yield* settle
      expect(third.unsafePoll()).toBeNull()
      expect(yield* sup.stats).toMatchObject({ submitted: 3, queued: 2, running: 1 })
      expect(yield* sup.offer(5)).toBe(false)
      yield* Deferred.succeed(gate, void 0)
      yield* Fiber.join(third)
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ submitted: 4, succeeded: 4, dropped: 0 })
      expect(yield* Ref.get(started)).toEqual([1, 2, 3, 4])
    })))

  it.effect("submitAll that exactly fills the queue returns without waiting", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gate, sup } = yield* busyWithOne("suspend")
      yield* sup.submitAll([2, 3])
      expect(yield* sup.stats).toMatchObject({ queued: 2, running: 1 })
      yield* Deferred.succeed(gate, void 0)
      expect((yield* sup.shutdown).stats.succeeded).toBe(3)
    })))

  it.effect("\"dropping\": a task pushed out by a full queue ends Dropped and is pending; offer returns false", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gate, started, sup } = yield* busyWithOne("dropping")
      yield* sup.submitAll([2, 3, 4])
      expect(yield* sup.offer(5)).toBe(false)
      yield* Deferred.succeed(gate, void 0)
      const summary = yield* sup.shutdown
      expect(summary.pending).toEqual([4])
      expect(summary.stats).toMatchObject({ submitted: 4, succeeded: 3, dropped: 1 })
      expect(yield* Ref.get(started)).toEqual([1, 2, 3])
    })))

  it.effect("\"sliding\": the oldest waiting task ends Dropped, execute of it fails TaskDropped", () =>
    Effect.scoped(Effect.gen(function*() {
      const { gate, started, sup } = yield* busyWithOne("sliding")
      const oldest = yield* Effect.fork(Effect.either(sup.execute(2)))
      yield* settle
      yield* sup.submit(3)
      expect(yield* sup.offer(4)).toBe(true)
      const result = yield* Fiber.join(oldest)
      expect(Either.isLeft(result) && result.left._tag).toBe("TaskDropped")
      yield* Deferred.succeed(gate, void 0)
      const summary = yield* sup.shutdown
      expect(summary.pending).toEqual([2])
      expect(yield* Ref.get(started)).toEqual([1, 3, 4])
      expect(summary.stats).toMatchObject({ submitted: 4, succeeded: 3, dropped: 1 })
    })))
})

describe("Supervisor: shutdown and interruption", () => {
  it.effect("closing the scope mid-run interrupts running handlers, runs each finalizer once, leaves no fiber", () =>
    Effect.gen(function*() {
      const acquired = yield* Ref.make<Array<number>>([])
      const released = yield* Ref.make<Array<number>>([])
      const fibers = yield* Ref.make<Array<Fiber.RuntimeFiber<any, any>>>([])
      const handler = (n: number) =>
        Effect.acquireRelease(
          Ref.update(acquired, (a) => [...a, n]),
          () => Ref.update(released, (r) => [...r, n])
        ).pipe(
          Effect.zipRight(Effect.withFiberRuntime<void>((fiber) => Ref.update(fibers, (f) => [...f, fiber]))),
          Effect.zipRight(Effect.never),
          Effect.scoped
        )
      const stats = yield* Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({ workers: 3, handler })
        yield* sup.submitAll(range(10))
        yield* settle
        return sup.stats
      }))
      const started = yield* Ref.get(acquired)
      expect(started.length).toBe(3)
      expect((yield* Ref.get(released)).sort()).toEqual(started.sort())
      const workerFibers = yield* Ref.get(fibers)
      expect(workerFibers.length).toBe(3)
      for (const fiber of workerFibers) expect(fiber.unsafePoll()).not.toBeNull()
      expect(yield* stats).toMatchObject({ submitted: 10, interrupted: 10, queued: 0, running: 0 })
    }))

  it.effect("shutdown drains the queue and awaits in-flight tasks", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) => Effect.as(Effect.sleep("1 second"), n),
        initial: 0,
        combine: (sum: number, n: number) => sum + n
      })
      yield* sup.submitAll(range(10))
      const done = yield* Effect.fork(sup.shutdown)
      yield* settle
      yield* Effect.flip(sup.submit(11)).pipe(Effect.map((e) => expect(e._tag).toBe("SupervisorClosed")))
      yield* TestClock.adjust("4 seconds")
      expect(done.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const summary = yield* Fiber.join(done)
      expect(summary.state).toBe(55)
      expect(summary.stats).toMatchObject({ submitted: 10, succeeded: 10 })
      expect(summary.pending).toEqual([])
      // calling it twice is safe and returns the same result
      expect((yield* sup.shutdown).state).toBe(55)
      expect((yield* sup.shutdownNow).state).toBe(55)
    })))

  it.effect("shutdownNow interrupts in-flight tasks and returns exactly the never-started ones", () =>
    Effect.scoped(Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const startedRef = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) =>
          Effect.zipRight(
            Ref.update(startedRef, (s) => [...s, n]),
            n <= 4 ? Effect.succeed(n) : Effect.onInterrupt(Effect.never, () => Ref.update(finalized, (f) => f + 1))
          )
      })
      yield* sup.submitAll(range(12))
      const waiter = yield* Effect.fork(Effect.either(sup.execute(20)))
      yield* settle
      const summary = yield* sup.shutdownNow
      const started = yield* Ref.get(startedRef)
      // both workers ended up blocked on a never-ending task; those were interrupted
      expect(started.filter((n) => n > 4).length).toBe(2)
      expect(yield* Ref.get(finalized)).toBe(2)
      const submitted = [...range(12), 20]
      expect([...summary.pending].sort((a, b) => a - b)).toEqual(submitted.filter((n) => !started.includes(n)))
      expect(summary.stats).toMatchObject({
        submitted: 13,
        succeeded: started.filter((n) => n <= 4).length,
        interrupted: 2 + summary.pending.length,
        running: 0,
        queued: 0
      })
      const result = yield* Fiber.join(waiter)
      expect(Either.isLeft(result) && result.left._tag).toBe("TaskInterrupted")
      expect(yield* Effect.flip(sup.submit(99))).toBeInstanceOf(Errors.SupervisorClosed)
      expect(yield* Effect.flip(sup.offer(99))).toBeInstanceOf(Errors.SupervisorClosed)
      expect(yield* Effect.flip(sup.execute(99))).toBeInstanceOf(Errors.SupervisorClosed)
    })))

  it.effect("shutdownNow: submitted = outcomes + pending, pending are exactly the unstarted tasks", () =>
    Effect.scoped(Effect.gen(function*() {
      const startedRef = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 3,
        handler: (n: number) => Effect.zipRight(Ref.update(startedRef, (s) => [...s, n]), Effect.sleep("1 second"))
      })
      yield* sup.submitAll(range(20))
      yield* TestClock.adjust("2500 millis")
      const summary = yield* sup.shutdownNow
      const started = yield* Ref.get(startedRef)
      expect(started.length).toBe(9)
      expect([...summary.pending].sort((a, b) => a - b)).toEqual(range(20).filter((n) => !started.includes(n)))
      const s = summary.stats
      expect(s).toMatchObject({ submitted: 20, succeeded: 6, interrupted: 14, queued: 0, running: 0 })
      expect(s.succeeded + s.failed + s.defects + s.interrupted + s.dropped).toBe(s.submitted)
    })))

  it.effect("awaitIdle waits until every submitted task has an outcome and the fold is applied", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.as(Effect.sleep(`${n} seconds`), n),
        initial: 0,
        combine: (sum: number, n: number) => sum + n
      })
      yield* sup.awaitIdle // nothing submitted: returns at once
      yield* sup.submitAll([1, 2, 3])
      const idle = yield* Effect.fork(sup.awaitIdle)
      yield* TestClock.adjust("5 seconds")
      expect(idle.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(idle)
      expect(yield* sup.state).toBe(6)
    })))

  it.effect("interrupting execute cancels a task that has not started", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const ran = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.zipRight(Ref.update(ran, (r) => [...r, n]), Deferred.await(gate))
      })
      yield* sup.submit(1)
      yield* settle
      const second = yield* Effect.fork(sup.execute(2))
      yield* settle
      yield* Fiber.interrupt(second)
      yield* Deferred.succeed(gate, void 0)
      const summary = yield* sup.shutdown
      expect(yield* Ref.get(ran)).toEqual([1])
      expect(summary.stats).toMatchObject({ submitted: 2, succeeded: 1, interrupted: 1 })
    })))
})

describe("Supervisor.layer", () => {
  class Doubler extends Context.Tag("Doubler")<Doubler, Supervisor.Supervisor<number, number>>() {}

  it.effect("provides a supervisor as a service", () =>
    Effect.gen(function*() {
      const sup = yield* Doubler
      expect(yield* sup.execute(21)).toBe(42)
    }).pipe(Effect.provide(Supervisor.layer(Doubler, { workers: 2, handler: (n: number) => Effect.succeed(n * 2) }))))
})

describe("Supervisor: invalid options", () => {
  const handler = (n: number) => Effect.succeed(n)
  const cases: ReadonlyArray<[string, Record<string, unknown>, string]> = [
    ["workers 0", { workers: 0 }, "workers must be an integer >= 1, got 0"],
    ["workers 1.5", { workers: 1.5 }, "workers must be an integer >= 1, got 1.5"],
    ["workers NaN", { workers: NaN }, "workers must be an integer >= 1, got NaN"],
    ["workers string", { workers: "4" }, "workers must be an integer >= 1, got \"4\""],
    ["workers missing", { workers: undefined }, "workers must be an integer >= 1, got undefined"],
    ["capacity 0", { capacity: 0 }, "capacity must be an integer >= 1 or Infinity, got 0"],
    ["capacity 2.5", { capacity: 2.5 }, "capacity must be an integer >= 1 or Infinity, got 2.5"],
    ["capacity -Infinity", { capacity: -Infinity }, "capacity must be an integer >= 1 or Infinity, got -Infinity"],
    ["strategy", { strategy: "lifo" }, "strategy must be one of \"suspend\", \"dropping\", \"sliding\", got \"lifo\""],
    ["handler", { handler: 42 }, "handler must be a function (task, resource) => Effect, got 42"],
    ["timeout", { timeout: "soon" }, "timeout must be a Duration input"],
    ["rateLimit", { rateLimit: { limit: 0, interval: "1 second" } }, "rateLimit must be"],
    ["name", { name: "" }, "name must be a non-empty string, got \"\""]
  ]
  for (const [title, patch, message] of cases) {
    it.effect(`rejects ${title}`, () =>
      Effect.gen(function*() {
        const options = { workers: 2, handler, ...patch } as unknown as Supervisor.Options<number, number>
        const error = yield* Effect.flip(Supervisor.run([1], options))
        expect(error).toBeInstanceOf(Errors.InvalidOptions)
        expect(error.message).toContain(message)
        const viaMake = yield* Effect.flip(Effect.scoped(Supervisor.make(options)))
        expect(viaMake._tag).toBe("InvalidOptions")
      }))
  }

  it.effect("accepts capacity Infinity", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(range(3), { workers: 1, capacity: Infinity, handler })
      expect(summary.stats.succeeded).toBe(3)
    }))
})

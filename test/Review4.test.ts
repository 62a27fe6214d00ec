/**
 * One regression test per defect found by the fourth adversarial review (in-process part).
 * Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, FiberId, Logger, LogLevel, Schedule, TestClock } from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"
import { counter } from "./support/metrics.js"

const succeed = (n: number) => Effect.succeed(n)

describe("bad durations", () => {
  it.effect("a negative duration string is InvalidOptions, not zero (timeout, drain, restart.within)", () =>
    Effect.gen(function*() {
      const made = (options: Partial<Supervisor.Options<number, number>>) =>
        Effect.map(
          Effect.exit(Effect.scoped(Supervisor.make({ workers: 1, handler: succeed, ...options }))),
          (exit) => Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.message : "made"
        )
      // before, "-5 seconds" parsed as 0: every attempt timed out at once
      expect(yield* made({ timeout: "-5 seconds" })).toContain("timeout")
      expect(yield* made({ drain: " -1 minute" })).toContain("drain")
      expect(yield* made({ restart: Restart.policy({ within: "-5 seconds" }) })).toContain("within")
      expect(yield* made({ timeout: "5 seconds" })).toBe("made")
    }))
})

describe("a resize under way when the supervisor stops", () => {
  it.effect("adds no worker after the stop and fails with SupervisorClosed", () =>
    Effect.scoped(Effect.gen(function*() {
      let acquiredAfterStop = 0
      let stopped = false
      const supervisor = yield* Supervisor.make({
        workers: 1,
        resource: Effect.sync(() => {
          if (stopped) acquiredAfterStop++
        }),
        handler: succeed
      })
      // 50k workers with a resource: the loop yields between them, and the stop comes in between
      const resizing = yield* Effect.fork(Effect.exit(supervisor.resize(50_000)))
      yield* Effect.yieldNow()
      const summary = yield* supervisor.shutdownNow
      stopped = true
      const resized = yield* Fiber.join(resizing)
      expect(summary.stats.workers).toBeLessThan(50_000)
      expect((yield* supervisor.stats).workers).toBe(summary.stats.workers)
      expect(Exit.isFailure(resized) && resized.cause._tag === "Fail" && resized.cause.error._tag).toBe(
        "SupervisorClosed"
      )
      expect(acquiredAfterStop).toBe(0)
    })))
})

describe("a drain when its scope's fiber is interrupted again", () => {
  it.effect("keeps its deadline: a task that never ends is interrupted at it, and the scope closes", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const owner = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const supervisor = yield* Supervisor.make({
          workers: 1,
          drain: "1 second",
          handler: (ms: number) =>
            (ms === 0 ? Effect.never : Effect.sleep(`${ms} millis`)).pipe(
              Effect.zipRight(Effect.sync(() => log.push(`done ${ms}`))),
              Effect.onInterrupt(() => Effect.sync(() => log.push(`interrupted ${ms}`)))
            )
        })
        yield* supervisor.submit(500)
        yield* supervisor.submit(0) // never ends on its own: the drain's deadline interrupts it
        return yield* Effect.never
      })))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interruptFork(owner) // the scope closes: a graceful drain of up to 1 s
      yield* TestClock.adjust("100 millis")
      // a second interrupt while it drains: it reached the deadline's race (a child of the
      // closing fiber) and cancelled it, and the scope never closed
      yield* Fiber.interruptFork(owner)
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.poll(owner))._tag).toBe("Some")
      expect(log).toEqual(["done 500", "interrupted 0"])
    }))
})

describe("a producer woken for a free slot and interrupted before it takes it", () => {
  for (const way of ["submit", "submitAll"] as const) {
    it.effect(`${way}: passes the wake-up on; the next waiting producer gets the slot`, () =>
      Effect.scoped(Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const victim = yield* Deferred.make<Fiber.RuntimeFiber<unknown, unknown>>()
        const ran: Array<number> = []
        const supervisor = yield* Supervisor.make({
          workers: 1,
          capacity: 1,
          handler: (n: number) =>
            Effect.zipRight(
              Effect.sync(() => ran.push(n)),
              n === 1
                ? Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(gate))
                // task 2 starts as its slot frees, which wakes the first producer: it is
                // interrupted then, between its wake-up and its retry (as by its own timeout)
                : n === 2
                ? Effect.flatMap(Deferred.await(victim), (fiber) =>
                  Effect.sync(() => fiber.unsafeInterruptAsFork(FiberId.none)))
                : Effect.void
            )
        })
        const produce = (n: number) => way === "submit" ? supervisor.submit(n) : supervisor.submitAll([n])
        yield* supervisor.submit(1)
        yield* Deferred.await(started)
        yield* supervisor.submit(2) // the queue is full (capacity 1)
        const first = yield* Effect.fork(produce(3))
        const second = yield* Effect.fork(produce(4))
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
        yield* Deferred.succeed(victim, first)
        yield* Deferred.succeed(gate, undefined)
        // a real event-loop turn, no time: a few free slots wake their producers from a
        // `setImmediate` (see admission.ts), which TestClock does not run
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        yield* Fiber.join(second)
        expect(Exit.isInterrupted(yield* Fiber.await(first))).toBe(true)
        yield* supervisor.awaitIdle
        expect(ran).toEqual([1, 2, 4])
      })))
  }
})

describe("a worker never dies silently", () => {
  const quiet = Effect.provide(Logger.minimumLogLevel(LogLevel.None))

  it.effect("a crash whose cause Cause.pretty cannot print (a bigint): the worker restarts, the next task runs", () =>
    Effect.scoped(
      Effect.gen(function*() {
        let acquisitions = 0
        const supervisor = yield* Supervisor.make({
          workers: 1,
          // the first acquisition fails with a bigint in its error: printing it for the restart's
          // log line threw, and the worker's fiber died with it
          resource: Effect.suspend(() => acquisitions++ === 0 ? Effect.fail({ code: 1n }) : Effect.void),
          handler: (n: number) => n === 1 ? Effect.fail(new Errors.WorkerCrashed({ cause: { id: 1n } })) : succeed(n)
        })
        const first = yield* Effect.fork(supervisor.execute(1))
        yield* TestClock.adjust("1 second")
        expect(Exit.isFailure(yield* Fiber.await(first))).toBe(true)
        const second = yield* Effect.fork(supervisor.execute(2))
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(second)).toBe(2)
        expect(yield* supervisor.stats).toMatchObject({ restarts: 2, queued: 0, running: 0 })
        expect(acquisitions).toBe(3)
      }).pipe(quiet)
    ))

  it.effect("a restart backoff schedule whose step throws escalates; nothing waits on the worker it took", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const supervisor = yield* Supervisor.make({
          workers: 1,
          restart: Restart.policy({
            backoff: Schedule.recurWhile(() => {
              throw new Error("backoff threw")
            })
          }),
          handler: (n: number) => n === 1 ? Effect.fail(new Errors.WorkerCrashed({ cause: "broken" })) : succeed(n)
        })
        expect(Exit.isFailure(yield* Effect.exit(supervisor.execute(1)))).toBe(true)
        const second = yield* Effect.fork(Effect.exit(supervisor.execute(2)))
        yield* TestClock.adjust("1 second")
        const idle = yield* Effect.flip(supervisor.awaitIdle)
        expect(idle).toBeInstanceOf(Errors.Escalated)
        expect(Exit.isFailure(yield* Fiber.join(second))).toBe(true)
      }).pipe(quiet)
    ))
})

describe("a resource release that dies when its worker ends normally", () => {
  const quiet = Effect.provide(Logger.minimumLogLevel(LogLevel.None))
  const dying = (counts: { acquired: number; released: number }) =>
    Effect.acquireRelease(
      Effect.sync(() => counts.acquired++),
      () => Effect.zipRight(Effect.sync(() => counts.released++), Effect.die("release died"))
    )

  it.effect("a graceful shutdown returns its Summary: no restart, no second acquisition", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const counts = { acquired: 0, released: 0 }
        const supervisor = yield* Supervisor.make({ workers: 1, resource: dying(counts), handler: succeed })
        yield* supervisor.submitAll([1, 2, 3])
        // before, the release's defect made the stop a crash: re-acquired (it drains), released,
        // restarted again until the intensity escalated
        const summary = yield* supervisor.shutdown
        expect(summary.stats).toMatchObject({ succeeded: 3, restarts: 0 })
        expect(counts).toEqual({ acquired: 1, released: 1 })
      }).pipe(quiet)
    ))

  it.effect("a worker retired by resize is no restart; with maxRestarts 0 nothing escalates", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const counts = { acquired: 0, released: 0 }
        const supervisor = yield* Supervisor.make({
          workers: 2,
          restart: Restart.policy({ maxRestarts: 0 }),
          resource: dying(counts),
          handler: succeed
        })
        yield* TestClock.adjust("10 millis")
        yield* supervisor.resize(1)
        yield* TestClock.adjust("1 second")
        expect(yield* supervisor.execute(1)).toBe(1)
        expect(yield* supervisor.stats).toMatchObject({ restarts: 0, workers: 1 })
        expect(counts).toEqual({ acquired: 2, released: 1 })
      }).pipe(quiet)
    ))

  it.effect("Supervisor.run of tasks that all succeed returns its Summary", () =>
    Effect.gen(function*() {
      const counts = { acquired: 0, released: 0 }
      const summary = yield* Supervisor.run([1, 2, 3], { workers: 1, resource: dying(counts), handler: succeed })
      expect(summary.stats).toMatchObject({ succeeded: 3, restarts: 0 })
      expect(counts).toEqual({ acquired: 1, released: 1 })
    }).pipe(quiet))
})

describe("with retry, an attempt's Scope", () => {
  it.effect("closes as that attempt ends, with its exit: not through the retry's delay", () =>
    Effect.scoped(Effect.gen(function*() {
      const log: Array<string> = []
      let attempt = 0
      const supervisor = yield* Supervisor.make({
        workers: 1,
        retry: Schedule.spaced("1 minute").pipe(Schedule.intersect(Schedule.recurs(1))),
        handler: (_: number) =>
          Effect.suspend(() => {
            const n = ++attempt
            return Effect.zipRight(
              Effect.acquireRelease(
                Effect.sync(() => log.push(`acquire ${n}`)),
                (_, exit) => Effect.sync(() => log.push(`release ${n} ${exit._tag}`))
              ),
              n === 1 ? Effect.fail("again") : Effect.succeed(n)
            )
          })
      })
      const fiber = yield* Effect.fork(supervisor.execute(1))
      yield* TestClock.adjust("1 second")
      // before, attempt 1's resource stayed open through the delay, and closed with Exit.void
      expect(log).toEqual(["acquire 1", "release 1 Failure"])
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(2)
      expect(log).toEqual(["acquire 1", "release 1 Failure", "acquire 2", "release 2 Success"])
    })))

  it.effect("whose finalizer dies after a typed failure: a Defect at once, not retried", () =>
    Effect.scoped(Effect.gen(function*() {
      let calls = 0
      const supervisor = yield* Supervisor.make({
        workers: 1,
        retry: Schedule.spaced("1 minute").pipe(Schedule.intersect(Schedule.recurs(3))),
        handler: (_: number) =>
          Effect.suspend(() => {
            calls++
            return Effect.zipRight(
              Effect.acquireRelease(Effect.void, () => Effect.die("release died")),
              Effect.fail("no")
            )
          })
      })
      const fiber = yield* Effect.fork(Effect.exit(supervisor.execute(1)))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe("release died")
      expect(yield* supervisor.stats).toMatchObject({ retries: 0, defects: 1 })
      expect(calls).toBe(1)
    })))
})

describe("metrics between outcomes", () => {
  it.effect("a restart reaches the restarts counter at once (an idle supervisor in a crash loop)", () =>
    Effect.scoped(Effect.gen(function*() {
      const name = `review4-restarts-${Math.random()}`
      let tries = 0
      yield* Supervisor.make({
        workers: 1,
        name,
        resource: Effect.suspend(() => ++tries <= 3 ? Effect.fail("down") : Effect.void),
        restart: Restart.policy({ backoff: Schedule.spaced("10 millis"), maxRestarts: 100 }),
        handler: succeed
      }).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.None)))
      yield* TestClock.adjust("1 second")
      // read as a scrape reads it: nobody asked for `stats`, no task had an outcome
      expect(yield* counter(name, "supervisor_tasks_restarts")).toBe(3)
    })))

  it.effect("a timeout of a task still retrying reaches the timeouts counter at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const name = `review4-timeouts-${Math.random()}`
      const supervisor = yield* Supervisor.make({
        workers: 1,
        name,
        timeout: "10 millis",
        retry: Schedule.spaced("1 second"),
        handler: (_: number) => Effect.never
      })
      yield* supervisor.submit(1)
      yield* TestClock.adjust("5 seconds")
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(5)
    })))
})

/**
 * One regression test per defect found by the fourth adversarial review (in-process part).
 * Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberId, TestClock } from "effect"
import { Restart, Supervisor } from "effect-supervisor"

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
        // the wake-ups of a few free slots come within an event-loop turn (setImmediate)
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        yield* Fiber.join(second)
        expect(Exit.isInterrupted(yield* Fiber.await(first))).toBe(true)
        yield* supervisor.awaitIdle
        expect(ran).toEqual([1, 2, 4])
      })))
  }
})

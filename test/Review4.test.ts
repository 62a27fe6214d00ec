/**
 * One regression test per defect found by the fourth adversarial review (in-process part).
 * Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
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

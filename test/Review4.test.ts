/**
 * One regression test per defect found by the fourth adversarial review (in-process part).
 * Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
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

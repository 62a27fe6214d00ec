/**
 * One regression test per defect found by the fourth adversarial review (in-process part).
 * Each failed before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
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

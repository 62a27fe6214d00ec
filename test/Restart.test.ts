import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { Restart, Supervisor } from "effect-supervisor"

describe("Restart.policy", () => {
  it("defaults: exponential 10 ms backoff capped at 1 s, 5 restarts within 5 s, one-for-one", () =>
    Effect.gen(function*() {
      const policy = Restart.policy()
      expect(policy).toMatchObject({ maxRestarts: 5, within: "5 seconds", strategy: "one-for-one" })
      const delays = yield* Schedule.run(Schedule.delays(policy.backoff), 0, Array.from({ length: 9 }, () => undefined))
      expect([...delays].map(Duration.toMillis)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000])
    }).pipe(Effect.runSync))

  const handler = (n: number) => Effect.succeed(n)
  const invalid: ReadonlyArray<[string, Restart.Policy, string]> = [
    [
      "negative maxRestarts",
      Restart.policy({ maxRestarts: -1 }),
      "restart.maxRestarts must be an integer >= 0, got -1"
    ],
    [
      "a bad within",
      Restart.policy({ within: "soon" as any }),
      "restart.within must be a Duration input, got \"soon\""
    ],
    ["an unknown strategy", Restart.policy({ strategy: "rest-for-one" as any }), "restart.strategy must be"],
    ["a non-schedule backoff", Restart.policy({ backoff: 5 as any }), "restart.backoff must be a Schedule, got 5"]
  ]
  for (const [title, restart, message] of invalid) {
    it.effect(`rejects ${title} with InvalidOptions`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Supervisor.run([1], { workers: 1, restart, handler }))
        expect(error._tag).toBe("InvalidOptions")
        expect(error.message).toContain(message)
      }))
  }

  it.effect("rejects a restart option that is not a policy", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Supervisor.run([1], { workers: 1, restart: { maxRestarts: 1 } as any, handler }))
      expect(error.message).toBe("restart must be a Restart.Policy (Restart.policy({...})), got {\"maxRestarts\":1}")
    }))
})

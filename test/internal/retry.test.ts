import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { nextDelay } from "../../src/internal/durable/retry.js"

const now = 1_700_000_000_000

describe("durable retry: the next delay, replayed over the recorded attempts", () => {
  it.effect("follows the schedule's steps: exponential doubles, recurs ends", () =>
    Effect.gen(function*() {
      const exponential = Schedule.exponential("10 millis")
      expect(yield* nextDelay(exponential, "e", 1, now)).toBe(10)
      expect(yield* nextDelay(exponential, "e", 3, now)).toBe(40)
      expect(yield* nextDelay(Schedule.recurs(2), "e", 2, now)).toBe(0)
      expect(yield* nextDelay(Schedule.recurs(2), "e", 3, now)).toBeUndefined()
    }))

  it.effect("a schedule bounded by elapsed time ends: each step comes its delay after the last", () =>
    Effect.gen(function*() {
      const bounded = Schedule.spaced("20 millis").pipe(Schedule.upTo("100 millis"))
      // before, every step was replayed at the same instant: no time ever elapsed, and it
      // retried until maxAttempts
      const delays: Array<number | undefined> = []
      for (let attempts = 1; attempts <= 8; attempts++) delays.push(yield* nextDelay(bounded, "e", attempts, now))
      expect(delays.slice(0, 5)).toEqual([20, 20, 20, 20, 20])
      expect(delays.slice(6)).toEqual([undefined, undefined])
    }))
})

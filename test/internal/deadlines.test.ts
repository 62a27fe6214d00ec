import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, TestClock } from "effect"
import { Deadlines, type Timed } from "../../src/internal/deadlines.js"

const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("Deadlines", () => {
  it.effect("the watchdog interrupts only what is still running at its deadline, in deadline order", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const deadlines = new Deadlines<Timed>(clock)
      const watchdog = yield* Effect.fork(deadlines.watchdog)
      const start = (ms: number, timeout: number) =>
        Effect.map(Effect.fork(Effect.sleep(ms)), (fiber) => {
          const timed: Timed = { fiber, timeoutAt: clock.unsafeCurrentTimeMillis() + timeout, timedOut: false }
          deadlines.add(timed)
          return timed
        })
      const slow = yield* start(1000, 100)
      const quick = yield* start(50, 100)
      yield* TestClock.adjust("30 millis")
      const later = yield* start(1000, 100)
      yield* TestClock.adjust("70 millis") // t = 100
      yield* settle
      expect([slow.timedOut, quick.timedOut, later.timedOut]).toEqual([true, false, false])
      expect(Exit.isInterrupted(yield* Fiber.await(slow.fiber!))).toBe(true)
      expect(Exit.isSuccess(yield* Fiber.await(quick.fiber!))).toBe(true)
      yield* TestClock.adjust("30 millis") // t = 130
      yield* settle
      expect(later.timedOut).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBe(130)
      yield* Fiber.interrupt(watchdog)
    }))

  it.effect("behind a long attempt in front, ended attempts are swept out: the line stays bounded", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const deadlines = new Deadlines<Timed>(clock)
      const done = yield* Effect.fork(Effect.void)
      yield* Fiber.await(done)
      const running = yield* Effect.fork(Effect.never)
      deadlines.add({ fiber: running, timeoutAt: 1_000_000, timedOut: false })
      let largest = 0
      for (let i = 0; i < 100_000; i++) {
        deadlines.add({ fiber: done, timeoutAt: 1_000_000, timedOut: false })
        largest = Math.max(largest, deadlines.size)
      }
      expect(largest).toBeLessThanOrEqual(1024)
      yield* Fiber.interrupt(running)
    }))
})

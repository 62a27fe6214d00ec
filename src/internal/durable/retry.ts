/**
 * Durable retry: the delay before the next delivery, from the user's `Schedule` and the
 * attempts the store has recorded, so it survives a crash and any consumer can run it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"

/**
 * Replays the schedule for `attempts` failed deliveries (each fed the latest error) and
 * returns the delay it asks for after the last one, or `undefined` when it is done.
 * The replay is from the schedule's initial state because its state lives in no process.
 *
 * Each replayed step happens as long after the one before as that one's delay (the handler's
 * own time is not recorded, so it counts as none), so a schedule bounded by elapsed time
 * (`upTo`, `during`) ends. A first pass measures the delays, a second replays them ending at
 * `now`, so a schedule on the wall clock (`cron`, `windowed`) is asked at the real time.
 *
 * @internal
 */
export const nextDelay = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  error: In,
  attempts: number,
  now: number
): Effect.Effect<number | undefined> =>
  Effect.flatMap(replay(schedule, error, attempts, now), (first) =>
    first === undefined
      ? Effect.succeed(undefined)
      : Effect.map(replay(schedule, error, attempts, now - first.elapsed), (second) => second?.delay))

const replay = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  error: In,
  attempts: number,
  from: number
): Effect.Effect<{ readonly delay: number; readonly elapsed: number } | undefined> =>
  Effect.gen(function*() {
    let state = schedule.initial
    let at = from
    let delay = 0
    for (let i = 0; i < attempts; i++) {
      at += delay
      const step = yield* schedule.step(at, error, state)
      state = step[0]
      const decision = step[2]
      if (!ScheduleDecision.isContinue(decision)) return undefined
      delay = Math.max(0, ScheduleIntervals.start(decision.intervals) - at)
    }
    // whole milliseconds: the store keeps integers (a jittered schedule asks for fractions)
    return { delay: Math.ceil(delay), elapsed: at - from }
  })

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
 * @internal
 */
export const nextDelay = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  error: In,
  attempts: number,
  now: number
): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    let state = schedule.initial
    let decision: ScheduleDecision.ScheduleDecision = ScheduleDecision.done
    for (let i = 0; i < attempts; i++) {
      const step = yield* schedule.step(now, error, state)
      state = step[0]
      decision = step[2]
      if (ScheduleDecision.isDone(decision)) return undefined
    }
    // whole milliseconds: the store keeps integers (a jittered schedule asks for fractions)
    return ScheduleDecision.isContinue(decision)
      ? Math.max(0, Math.ceil(ScheduleIntervals.start(decision.intervals) - now))
      : undefined
  })

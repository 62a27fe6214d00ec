/**
 * Restart intensity: when a worker's resource dies, may it restart, after which delay, or must
 * the supervisor give up (`Escalated`)?
 *
 * Three limits, any of which escalates:
 * - more than `maxRestarts` restarts across the supervisor within `within` (OTP's intensity);
 * - more than `maxFutileRestarts` consecutive restarts of one worker whose incarnations never
 *   completed a task (a database that is down, a thread that never starts: slower than the
 *   window, but hopeless) — without it such a loop would restart forever;
 * - the `backoff` schedule ending;
 * - a resource that fails with `InvalidOptions` (e.g. a bad `Threads.offload` spec): at once.
 *
 * Every restart is logged at warning level and an escalation at error level, with the worker
 * id, the restart count and the cause, so a restart loop is never silent.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { Escalated, InvalidOptions } from "../Errors.js"
import type { Counts } from "./metrics.js"
import type { Normalized } from "./options.js"

/** What intensity needs to know about one worker. */
export interface Restarting {
  readonly id: number
  /** consecutive incarnations that completed no task */
  futile: number
}

/** @internal */
export class Intensity {
  /** restart times within the window, oldest first (at most `maxRestarts + 1`) */
  private readonly times: Array<number> = []

  constructor(
    private readonly policy: Normalized["restart"],
    private readonly clock: Clock.Clock,
    private readonly counts: Counts,
    /** one-for-all: every other worker re-acquires its resource */
    private readonly restartSiblings: (worker: Restarting) => void
  ) {}

  /** A backoff driver for one worker (the schedule keeps its own state per worker). */
  readonly driver: Effect.Effect<Schedule.ScheduleDriver<unknown, unknown>> = Effect.suspend(() =>
    Schedule.driver(this.policy.backoff)
  )

  /**
   * Counts a restart of `worker` after `cause`, then waits its backoff. Succeeds with the
   * `Escalated` error when the supervisor must give up instead.
   */
  restart(
    worker: Restarting,
    cause: Cause.Cause<unknown>,
    backoff: Schedule.ScheduleDriver<unknown, unknown>
  ): Effect.Effect<Escalated | undefined> {
    return Effect.suspend(() => {
      this.counts.restarts++
      const restarts = this.counts.restarts
      const now = this.clock.unsafeCurrentTimeMillis()
      const { maxFutileRestarts, maxRestarts, strategy, withinMillis } = this.policy
      this.times.push(now)
      while (this.times.length > 0 && this.times[0]! <= now - withinMillis) this.times.shift()
      if (this.times.length > maxRestarts + 1) this.times.shift()
      const reason = isInvalidOptions(cause)
        ? "the resource's options are invalid (restarting cannot help)"
        : this.times.length > maxRestarts
        ? `more than ${maxRestarts} restarts within ${withinMillis} ms`
        : worker.futile > maxFutileRestarts
        ? `worker ${worker.id} restarted ${worker.futile} times in a row without completing a task`
        : undefined
      if (reason !== undefined) return this.escalate(worker, cause, reason)
      if (strategy === "one-for-all") this.restartSiblings(worker)
      return Effect.zipRight(
        Effect.logWarning("effect-supervisor: restarting a worker").pipe(
          Effect.annotateLogs({ worker: worker.id, restarts, cause: printed(cause) })
        ),
        Effect.matchEffect(backoff.next(undefined), {
          onFailure: () => this.escalate(worker, cause, "the restart backoff schedule ended"),
          onSuccess: () => Effect.succeed(undefined)
        }).pipe(
          // a schedule whose step throws: restarting on it cannot go on (interruption passes)
          Effect.catchAllDefect((defect) =>
            this.escalate(worker, cause, `the restart backoff schedule died: ${printed(Cause.die(defect))}`)
          )
        )
      )
    })
  }

  /**
   * The worker's own loop died (a defect of ours, or of a user callback outside any task): no
   * restart can be trusted, so the supervisor gives up rather than run one worker short.
   */
  died(worker: Restarting, defect: unknown): Effect.Effect<Escalated> {
    return this.escalate(worker, Cause.die(defect), `worker ${worker.id} died: ${printed(Cause.die(defect))}`)
  }

  private escalate(worker: Restarting, cause: Cause.Cause<unknown>, reason: string): Effect.Effect<Escalated> {
    const escalated = new Escalated({ restarts: this.counts.restarts, cause })
    return Effect.as(
      Effect.logError(`effect-supervisor: escalating: ${reason}`).pipe(
        Effect.annotateLogs({ worker: worker.id, restarts: this.counts.restarts, cause: printed(cause) })
      ),
      escalated
    )
  }
}

/**
 * `Cause.pretty`, which throws for some causes (a `bigint` anywhere in a failure it renders as
 * JSON): a log line must never take its worker down.
 *
 * @internal
 */
export const printed = (cause: Cause.Cause<unknown>): string => {
  try {
    return Cause.pretty(cause)
  } catch (error) {
    return `(a cause that cannot be printed: ${String(error)})`
  }
}

const isInvalidOptions = (cause: Cause.Cause<unknown>): boolean => {
  const failure = Cause.failureOption(cause)
  return failure._tag === "Some" && failure.value instanceof InvalidOptions
}

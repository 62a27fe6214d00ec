/**
 * Restart policies: how a supervisor restarts a worker whose resource failed or died.
 *
 * Modelled on OTP supervisors: a backoff `Schedule` before each restart, an intensity limit
 * (at most `maxRestarts` restarts within `within`) past which the supervisor gives up with
 * `Errors.Escalated`, and a strategy (`"one-for-one"` or `"one-for-all"`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

/**
 * `"one-for-one"` restarts only the failed worker; `"one-for-all"` restarts every worker
 * (for resources that share state).
 *
 * @since 0.1.0
 */
export type Strategy = "one-for-one" | "one-for-all"

/**
 * A restart policy. Build one with {@link policy}.
 *
 * @since 0.1.0
 */
export interface Policy {
  readonly _tag: "RestartPolicy"
  /** delay before each restart of one worker; when it ends, the supervisor escalates */
  readonly backoff: Schedule.Schedule<unknown, unknown>
  /** more restarts than this within `within` escalate */
  readonly maxRestarts: number
  readonly within: Duration.DurationInput
  /**
   * more consecutive restarts of one worker whose incarnations completed no task than this
   * escalate (a resource that never comes up, however slowly it fails)
   */
  readonly maxFutileRestarts: number
  readonly strategy: Strategy
}

/**
 * The default backoff: exponential from 10 ms, each delay capped at 1 s.
 *
 * @since 0.1.0
 */
export const defaultBackoff: Schedule.Schedule<unknown, unknown> = Schedule.exponential("10 millis").pipe(
  Schedule.union(Schedule.spaced("1 second"))
)

/**
 * Builds a restart policy.
 *
 * When to use: pass it as the supervisor's `restart` option when its workers own a resource
 * that can break (a connection, a worker thread).
 *
 * Details:
 * - A worker restarts when acquiring its resource fails or dies, or when one of its tasks
 *   fails with `Errors.WorkerCrashed`. Restarting closes the worker's scope (its resource is
 *   released) and acquires a new resource after the `backoff` delay.
 * - More than `maxRestarts` restarts (across the supervisor) within `within` make the
 *   supervisor stop with `Errors.Escalated`, as does a `backoff` schedule that ends.
 * - So do more than `maxFutileRestarts` restarts in a row of one worker that completed no task
 *   in between: a resource that can never be acquired (a database that is down, a thread file
 *   that never starts) escalates in bounded time even when it fails slower than the window.
 * - Every restart is logged with `Effect.logWarning`, an escalation with `Effect.logError`
 *   (annotations: `worker`, `restarts`, `cause`).
 * - A worker's backoff starts over after it completes a task.
 * - `"one-for-all"`: the failed worker restarts after its backoff; every other worker
 *   releases and re-acquires its resource as soon as its current task ends (idle ones at
 *   once). One crash counts as one restart.
 *
 * Defaults: exponential backoff 10 ms..1 s, 5 restarts within 5 seconds, 10 futile restarts in
 * a row (about 5 s with the default backoff), `"one-for-one"`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Restart } from "effect-supervisor"
 *
 * const policy = Restart.policy({
 *   backoff: Schedule.spaced("100 millis"),
 *   maxRestarts: 3,
 *   within: "1 minute",
 *   strategy: "one-for-all"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const policy = (options: {
  readonly backoff?: Schedule.Schedule<unknown, unknown> | undefined
  readonly maxRestarts?: number | undefined
  readonly within?: Duration.DurationInput | undefined
  readonly maxFutileRestarts?: number | undefined
  readonly strategy?: Strategy | undefined
} = {}): Policy => ({
  _tag: "RestartPolicy",
  backoff: options.backoff ?? defaultBackoff,
  maxRestarts: options.maxRestarts ?? 5,
  within: options.within ?? "5 seconds",
  maxFutileRestarts: options.maxFutileRestarts ?? 10,
  strategy: options.strategy ?? "one-for-one"
})

/**
 * The default policy: `policy({})`.
 *
 * @since 0.1.0
 */
export const defaultPolicy: Policy = policy()

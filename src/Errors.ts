/**
 * The typed errors of effect-supervisor.
 *
 * Every error is a `Data.TaggedError`, so `Effect.catchTag` and `Effect.catchTags` work on them.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"

/**
 * The options given to `Supervisor.make` / `Supervisor.run` (or a runtime call such as
 * `resize`) are not valid.
 *
 * Details: `message` names the field and the value, e.g.
 * `workers must be an integer >= 1, got 0`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2], { workers: 0, handler: Effect.succeed }).pipe(
 *   Effect.catchTag("InvalidOptions", (e) => Effect.succeed(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly message: string
}> {}

/**
 * A task was submitted after `shutdown` / `shutdownNow` (or after the supervisor escalated or
 * its scope closed). The task was not accepted and has no outcome.
 *
 * @since 0.1.0
 */
export class SupervisorClosed extends Data.TaggedError("SupervisorClosed")<{}> {
  override get message() {
    return "the supervisor is closed: it accepts no new tasks"
  }
}

// a named base, so the class can take a type parameter for `task`
const TaskTimeoutBase = Data.TaggedError("TaskTimeout")

/**
 * One attempt of a task ran longer than the `timeout` option. `task` is the task itself (typed
 * as the supervisor's task type in `Outcome.Failure`). The attempt was interrupted
 * (its finalizers ran); `retry` retries it like a typed failure.
 *
 * @since 0.1.0
 */
export class TaskTimeout<out T = unknown> extends TaskTimeoutBase<{
  readonly task: T
  readonly timeout: Duration.Duration
}> {
  override get message() {
    return `task timed out after ${String(this.timeout)}`
  }
}

/**
 * The worker's resource broke while it ran the task (e.g. its worker thread exited). The
 * task ends with this failure and the worker restarts under the restart policy.
 *
 * Handlers may fail with it themselves to say "my resource is broken, restart me".
 *
 * @since 0.1.0
 */
export class WorkerCrashed extends Data.TaggedError("WorkerCrashed")<{
  readonly cause: unknown
}> {
  override get message() {
    return `worker crashed: ${describe(this.cause)}`
  }
}

/**
 * The supervisor gave up: more than `maxRestarts` restarts within `within` (or the backoff
 * schedule ended). Running tasks were interrupted, queued ones ended `Interrupted`.
 *
 * @since 0.1.0
 */
export class Escalated extends Data.TaggedError("Escalated")<{
  readonly restarts: number
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return `supervisor escalated after ${this.restarts} restarts`
  }
}

/**
 * The task was interrupted before it produced a value: by `shutdownNow`, by its scope
 * closing, by `cancel`, or by an escalation.
 *
 * @since 0.1.0
 */
export class TaskInterrupted extends Data.TaggedError("TaskInterrupted")<{
  readonly task: unknown
}> {
  override get message() {
    return "task interrupted"
  }
}

/**
 * The task was dropped by a full `"dropping"` or `"sliding"` queue.
 *
 * @since 0.1.0
 */
export class TaskDropped extends Data.TaggedError("TaskDropped")<{
  readonly task: unknown
}> {
  override get message() {
    return "task dropped by a full queue"
  }
}

/**
 * A worker thread could not start: its file failed to load, threw or exited before it was
 * ready, or it did not become ready within `startTimeout`.
 *
 * When to use: catch it (`Effect.catchTag("ThreadStartFailed", …)`) around `Threads.resource`
 * when you acquire a thread yourself; under a supervisor it makes the worker restart and, if it
 * keeps happening, the supervisor escalates.
 *
 * Details: `cause` is what the thread reported (a pretty-printed Effect cause when the
 * thread-side layer failed, the thrown error when the file failed to load, or an `Error`
 * naming the exit code / the timeout).
 *
 * Gotchas: a thread that starts and then dies is not a start failure: the task in flight ends
 * with `WorkerCrashed` instead.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 *
 * declare const spec: Threads.Spec<any>
 * // the same class: Errors.ThreadStartFailed, from "effect-supervisor"
 * const program = Effect.scoped(Threads.resource(spec)).pipe(
 *   Effect.catchTag("ThreadStartFailed", (e) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class ThreadStartFailed extends Data.TaggedError("ThreadStartFailed")<{
  readonly file: string
  readonly cause: unknown
}> {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `worker thread ${this.file} failed to start: ${cause}`
  }
}

/**
 * What `execute` can add to the handler's own error type.
 *
 * @since 0.1.0
 */
export type TaskError = SupervisorClosed | TaskTimeout | WorkerCrashed | TaskInterrupted | TaskDropped

const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)

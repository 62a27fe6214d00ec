/**
 * The outcome of one task: every submitted task ends in exactly one of these.
 *
 * Outcomes are plain tagged objects (`_tag` discriminates) so recording one costs one small
 * allocation.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type { TaskTimeout, WorkerCrashed } from "./Errors.js"

/**
 * The handler produced a value. `attempts` counts the attempts it took (1 without retries).
 *
 * @since 0.1.0
 */
export interface Success<out T, out A> {
  readonly _tag: "Success"
  readonly task: T
  readonly value: A
  readonly attempts: number
}

/**
 * The handler failed with a typed error after its last attempt: the handler's own `E`,
 * a `TaskTimeout`, or a `WorkerCrashed` when the worker's resource broke.
 *
 * @since 0.1.0
 */
export interface Failure<out T, out E> {
  readonly _tag: "Failure"
  readonly task: T
  readonly error: E | TaskTimeout<T> | WorkerCrashed
  readonly attempts: number
}

/**
 * The handler died with a defect (a thrown exception, `Effect.die`). The worker carries on.
 *
 * @since 0.1.0
 */
export interface Defect<out T> {
  readonly _tag: "Defect"
  readonly task: T
  readonly defect: unknown
  readonly cause: Cause.Cause<unknown>
}

/**
 * The task was interrupted: while running (shutdownNow, scope close, cancel, escalation) or
 * before it started (then it is also listed in `Summary.pending`).
 *
 * @since 0.1.0
 */
export interface Interrupted<out T> {
  readonly _tag: "Interrupted"
  readonly task: T
}

/**
 * The task was pushed out of a full `"dropping"` / `"sliding"` queue; it never ran.
 *
 * @since 0.1.0
 */
export interface Dropped<out T> {
  readonly _tag: "Dropped"
  readonly task: T
}

/**
 * The outcome of one task.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * const describe = (o: Outcome.Outcome<number, number, string>) =>
 *   Outcome.match(o, {
 *     Success: (s) => `ok ${s.value}`,
 *     Failure: (f) => `failed ${String(f.error)}`,
 *     Defect: () => "defect",
 *     Interrupted: () => "interrupted",
 *     Dropped: () => "dropped"
 *   })
 * ```
 *
 * @since 0.1.0
 */
export type Outcome<T, A, E> = Success<T, A> | Failure<T, E> | Defect<T> | Interrupted<T> | Dropped<T>

/**
 * Builds a `Success` outcome (the supervisor builds these; useful in tests and custom sinks).
 *
 * @since 0.1.0
 */
export const success = <T, A>(task: T, value: A, attempts = 1): Success<T, A> => ({
  _tag: "Success",
  task,
  value,
  attempts
})

/**
 * Builds a `Failure` outcome.
 *
 * @since 0.1.0
 */
export const failure = <T, E>(task: T, error: E | TaskTimeout<T> | WorkerCrashed, attempts = 1): Failure<T, E> => ({
  _tag: "Failure",
  task,
  error,
  attempts
})

/**
 * Builds a `Defect` outcome from the defect and its full `Cause`.
 *
 * @since 0.1.0
 */
export const defect = <T>(task: T, defect: unknown, cause: Cause.Cause<unknown>): Defect<T> => ({
  _tag: "Defect",
  task,
  defect,
  cause
})

/**
 * Builds an `Interrupted` outcome.
 *
 * @since 0.1.0
 */
export const interrupted = <T>(task: T): Interrupted<T> => ({ _tag: "Interrupted", task })

/**
 * Builds a `Dropped` outcome.
 *
 * @since 0.1.0
 */
export const dropped = <T>(task: T): Dropped<T> => ({ _tag: "Dropped", task })

/**
 * Narrows an outcome to `Success` (e.g. `summary.failures.filter(Outcome.isFailure)`).
 *
 * @since 0.1.0
 */
export const isSuccess = <T, A, E>(self: Outcome<T, A, E>): self is Success<T, A> => self._tag === "Success"

/**
 * Narrows an outcome to `Failure`.
 *
 * @since 0.1.0
 */
export const isFailure = <T, A, E>(self: Outcome<T, A, E>): self is Failure<T, E> => self._tag === "Failure"

/**
 * Narrows an outcome to `Defect`.
 *
 * @since 0.1.0
 */
export const isDefect = <T, A, E>(self: Outcome<T, A, E>): self is Defect<T> => self._tag === "Defect"

/**
 * Narrows an outcome to `Interrupted`.
 *
 * @since 0.1.0
 */
export const isInterrupted = <T, A, E>(self: Outcome<T, A, E>): self is Interrupted<T> => self._tag === "Interrupted"

/**
 * Narrows an outcome to `Dropped`.
 *
 * @since 0.1.0
 */
export const isDropped = <T, A, E>(self: Outcome<T, A, E>): self is Dropped<T> => self._tag === "Dropped"

/**
 * Folds an outcome by its tag.
 *
 * @since 0.1.0
 */
export const match = <T, A, E, Z>(
  self: Outcome<T, A, E>,
  cases: {
    readonly Success: (self: Success<T, A>) => Z
    readonly Failure: (self: Failure<T, E>) => Z
    readonly Defect: (self: Defect<T>) => Z
    readonly Interrupted: (self: Interrupted<T>) => Z
    readonly Dropped: (self: Dropped<T>) => Z
  }
): Z => {
  switch (self._tag) {
    case "Success":
      return cases.Success(self)
    case "Failure":
      return cases.Failure(self)
    case "Defect":
      return cases.Defect(self)
    case "Interrupted":
      return cases.Interrupted(self)
    case "Dropped":
      return cases.Dropped(self)
  }
}

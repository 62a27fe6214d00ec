/**
 * The outcome of one task: every submitted task ends in exactly one of these.
 *
 * Outcomes are plain tagged objects (`_tag` discriminates) so recording one costs one small
 * allocation.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import { dual } from "effect/Function"
import type { TaskTimeout, WorkerCrashed } from "./Errors.js"

/**
 * The handler produced a value. `attempts` counts the attempts it took (1 without retries).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Outcome, Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n + 1) })
 *     const handle = yield* sup.submitWithHandle(41)
 *     const outcome = yield* handle.await
 *     return Outcome.isSuccess(outcome) ? `${outcome.task} -> ${outcome.value} in ${outcome.attempts}` : outcome._tag
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 41 -> 42 in 1
 * ```
 *
 * @category models
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
 * Details: `Summary.failures` lists these (with the `Defect`s), so a batch run reports every
 * failed task with its error instead of failing as a whole.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2, 3], {
 *   workers: 2,
 *   handler: (n: number) => (n === 2 ? Effect.fail(`task ${n} is even`) : Effect.succeed(n))
 * })
 *
 * Effect.runPromise(program).then((summary) =>
 *   console.log(summary.failures.map((f) => (f._tag === "Failure" ? f.error : f._tag)).join()) // task 2 is even
 * )
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Failure<out T, out E> {
  readonly _tag: "Failure"
  readonly task: T
  readonly error: E | TaskTimeout<T> | WorkerCrashed
  readonly attempts: number
}

/**
 * The handler died with a defect (a thrown exception, `Effect.die`). The worker carries on
 * with the same resource. `cause` is the full `Cause` (with its stack), `defect` its first
 * defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run(["{}", "not json"], {
 *   workers: 1,
 *   handler: (text: string) => Effect.sync(() => JSON.parse(text))
 * })
 *
 * Effect.runPromise(program).then((summary) => {
 *   const [defect] = summary.failures
 *   console.log(defect._tag, defect.task) // Defect not json
 * })
 * ```
 *
 * @category models
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
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (_: string) => Effect.never })
 *     const handle = yield* sup.submitWithHandle("slow")
 *     yield* handle.cancel
 *     return (yield* handle.await)._tag
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // Interrupted
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Interrupted<out T> {
  readonly _tag: "Interrupted"
  readonly task: T
}

/**
 * The task was pushed out of a full `"dropping"` / `"sliding"` queue; it never ran and is
 * listed in `Summary.pending`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({
 *       workers: 1,
 *       capacity: 1,
 *       strategy: "sliding",
 *       handler: (_: string) => Effect.sleep("20 millis")
 *     })
 *     yield* sup.submit("a")
 *     yield* Effect.sleep("5 millis") // "a" is running
 *     yield* sup.submitAll(["b", "c"]) // one slot: "b" slides out
 *     const summary = yield* sup.shutdown
 *     return summary.pending
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // [ 'b' ]
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Dropped<out T> {
  readonly _tag: "Dropped"
  readonly task: T
}

/**
 * The outcome of one task: a tagged union of `Success`, `Failure`, `Defect`, `Interrupted`
 * and `Dropped`.
 *
 * When to use: read outcomes from `Supervisor.outcomes` (live), `TaskHandle.await` (one
 * task) or `Summary.failures`; fold one with {@link match} or narrow with the guards.
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
 *
 * console.log(describe(Outcome.failure(1, "no route"))) // failed no route
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome<T, A, E> = Success<T, A> | Failure<T, E> | Defect<T> | Interrupted<T> | Dropped<T>

/**
 * Builds a `Success` outcome (the supervisor builds these; useful in tests and custom sinks).
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.success("job-1", 42, 2)) // { _tag: 'Success', task: 'job-1', value: 42, attempts: 2 }
 * ```
 *
 * @category constructors
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
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.failure("job-1", "not found")) // { _tag: 'Failure', task: 'job-1', error: 'not found', attempts: 1 }
 * ```
 *
 * @category constructors
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
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { Outcome } from "effect-supervisor"
 *
 * const boom = new Error("boom")
 * const outcome = Outcome.defect("job-1", boom, Cause.die(boom))
 * console.log(outcome._tag, Cause.isDie(outcome.cause)) // Defect true
 * ```
 *
 * @category constructors
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
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.interrupted("job-1")) // { _tag: 'Interrupted', task: 'job-1' }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const interrupted = <T>(task: T): Interrupted<T> => ({ _tag: "Interrupted", task })

/**
 * Builds a `Dropped` outcome.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.dropped("job-1")) // { _tag: 'Dropped', task: 'job-1' }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const dropped = <T>(task: T): Dropped<T> => ({ _tag: "Dropped", task })

/**
 * Narrows an outcome to `Success`.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * const outcomes = [Outcome.success(1, "a"), Outcome.failure(2, "e"), Outcome.success(3, "c")]
 * console.log(outcomes.filter(Outcome.isSuccess).map((s) => s.value).join()) // a,c
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isSuccess = <T, A, E>(self: Outcome<T, A, E>): self is Success<T, A> => self._tag === "Success"

/**
 * Narrows an outcome to `Failure` (the typed error after the last attempt).
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * const outcomes = [Outcome.success(1, "a"), Outcome.failure(2, "e")]
 * console.log(outcomes.filter(Outcome.isFailure).map((f) => f.error).join()) // e
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isFailure = <T, A, E>(self: Outcome<T, A, E>): self is Failure<T, E> => self._tag === "Failure"

/**
 * Narrows an outcome to `Defect`.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.isDefect(Outcome.defect(1, "boom", Cause.die("boom")))) // true
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isDefect = <T, A, E>(self: Outcome<T, A, E>): self is Defect<T> => self._tag === "Defect"

/**
 * Narrows an outcome to `Interrupted`.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.isInterrupted(Outcome.interrupted(1))) // true
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isInterrupted = <T, A, E>(self: Outcome<T, A, E>): self is Interrupted<T> => self._tag === "Interrupted"

/**
 * Narrows an outcome to `Dropped`.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.isDropped(Outcome.success(1, 1))) // false
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isDropped = <T, A, E>(self: Outcome<T, A, E>): self is Dropped<T> => self._tag === "Dropped"

/**
 * The cases of {@link match}: one function per tag.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * const toExitCode: Outcome.Cases<string, number, string, number> = {
 *   Success: () => 0,
 *   Failure: () => 1,
 *   Defect: () => 2,
 *   Interrupted: () => 130,
 *   Dropped: () => 75
 * }
 * console.log(Outcome.match(Outcome.interrupted("job"), toExitCode)) // 130
 * ```
 *
 * @category pattern matching
 * @since 0.1.0
 */
export interface Cases<T, A, E, Z> {
  readonly Success: (self: Success<T, A>) => Z
  readonly Failure: (self: Failure<T, E>) => Z
  readonly Defect: (self: Defect<T>) => Z
  readonly Interrupted: (self: Interrupted<T>) => Z
  readonly Dropped: (self: Dropped<T>) => Z
}

/**
 * Folds an outcome by its tag, data-first (`match(outcome, cases)`) or data-last
 * (`pipe(outcome, match(cases))`, handy with `Stream.map` over `outcomes`).
 *
 * Details: the cases must cover every tag, so adding a tag later is a type error at each
 * `match`, not a silent fall-through.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { Outcome } from "effect-supervisor"
 *
 * const cases: Outcome.Cases<string, number, string, string> = {
 *   Success: (s) => `ok ${s.value}`,
 *   Failure: (f) => `failed: ${f.error}`,
 *   Defect: () => "defect",
 *   Interrupted: () => "interrupted",
 *   Dropped: () => "dropped"
 * }
 *
 * console.log(Outcome.match(Outcome.success("a", 1), cases)) // ok 1
 * console.log(pipe(Outcome.failure("b", "timeout"), Outcome.match(cases))) // failed: timeout
 * ```
 *
 * @category pattern matching
 * @since 0.1.0
 */
export const match: {
  <T, A, E, Z>(cases: Cases<T, A, E, Z>): (self: Outcome<T, A, E>) => Z
  <T, A, E, Z>(self: Outcome<T, A, E>, cases: Cases<T, A, E, Z>): Z
} = dual(2, <T, A, E, Z>(self: Outcome<T, A, E>, cases: Cases<T, A, E, Z>): Z => {
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
})

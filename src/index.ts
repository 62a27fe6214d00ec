/**
 * effect-supervisor: the Supervisor-Worker pattern as a typed, supervised part of an Effect
 * program.
 *
 * The root entry point re-exports each public module as a namespace; each module is also its
 * own entry point (`effect-supervisor/Supervisor`, `effect-supervisor/Outcome`,
 * `effect-supervisor/Errors`, `effect-supervisor/Restart`). Worker threads live in
 * `effect-supervisor/threads`, which needs the optional peer `@effect/platform-node`; this
 * entry point never loads it.
 *
 * @since 0.1.0
 */
// docgen reads a file's first comment as the module's documentation; this empty import keeps
// that comment off the first export below
import type {} from "./Errors.js"

/**
 * The typed errors (`Data.TaggedError`): `InvalidOptions`, `SupervisorClosed`, `TaskTimeout`,
 * `WorkerCrashed`, `Escalated`, `TaskInterrupted`, `TaskDropped`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Errors, Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1], { workers: 0, handler: Effect.succeed }).pipe(
 *   Effect.catchTag("InvalidOptions", (e: Errors.InvalidOptions) => Effect.succeed(e.message))
 * )
 *
 * Effect.runPromise(program).then(console.log) // workers must be an integer >= 1, got 0
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"

/**
 * The outcome of one task: `Success`, `Failure`, `Defect`, `Interrupted` or `Dropped`.
 *
 * @example
 * ```ts
 * import { Outcome } from "effect-supervisor"
 *
 * console.log(Outcome.isSuccess(Outcome.success("job-1", 42))) // true
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as Outcome from "./Outcome.js"

/**
 * Restart policies: backoff, intensity (max restarts within a period) and strategy.
 *
 * @example
 * ```ts
 * import { Restart } from "effect-supervisor"
 *
 * console.log(Restart.policy({ maxRestarts: 3 }).maxRestarts) // 3
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as Restart from "./Restart.js"

/**
 * The supervisor: `make`, `layer`, `run`, `Tag`, `validate` and the types they use.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2, 3], {
 *   workers: 2,
 *   handler: (n: number) => Effect.succeed(n * 2),
 *   initial: 0,
 *   combine: (sum, doubled) => sum + doubled
 * })
 *
 * Effect.runPromise(program).then((summary) => console.log(summary.state)) // 12
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as Supervisor from "./Supervisor.js"

/**
 * effect-supervisor: the Supervisor-Worker pattern as a typed, supervised part of an Effect
 * program.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Errors from "./Errors.js"

/** @since 0.1.0 */
export * as Outcome from "./Outcome.js"

/** @since 0.1.0 */
export * as Restart from "./Restart.js"

/** @since 0.1.0 */
export * as Supervisor from "./Supervisor.js"

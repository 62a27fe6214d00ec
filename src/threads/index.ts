/**
 * effect-supervisor/threads: worker-thread offload. Needs the optional peer
 * `@effect/platform-node`; the root entry point does not load it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Threads from "../Threads.js"

/** @since 0.1.0 */
export * as ThreadRunner from "../ThreadRunner.js"

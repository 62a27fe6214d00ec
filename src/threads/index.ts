/**
 * effect-supervisor/threads: worker-thread offload. Needs the optional peer
 * `@effect/platform-node`; the root entry point does not load it.
 *
 * @since 0.1.0
 */

/**
 * The main side: a worker resource backed by a worker thread, and the handler that sends tasks to it.
 *
 * @category modules
 * @since 0.1.0
 */
export * as Threads from "../Threads.js"

/**
 * The thread side: serve Schema-typed request handlers inside a worker thread.
 *
 * @category modules
 * @since 0.1.0
 */
export * as ThreadRunner from "../ThreadRunner.js"

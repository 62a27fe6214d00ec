/**
 * effect-supervisor/threads: worker-thread offload. Needs the optional peer
 * `@effect/platform-node`; the root entry point does not load it.
 *
 * @since 0.1.0
 */
// docgen reads a file's first comment as the module's documentation; this empty import keeps
// that comment off the first export below
import type {} from "../Threads.js"

/**
 * The main side: a worker resource backed by a worker thread, and the handler that sends tasks to it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Fib extends Schema.TaggedRequest<Fib>()("Fib", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))
 *
 * // one file, both sides: the main thread starts this same file on each worker thread
 * if (isMainThread) {
 *   const program = Supervisor.run([20, 21, 22].map((n) => new Fib({ n })), {
 *     workers: 2, // two threads
 *     ...Threads.offload({ file: new URL(import.meta.url), schema: Fib }),
 *     initial: 0,
 *     combine: (sum, value) => sum + value
 *   })
 *   Effect.runPromise(program).then((summary) => console.log(summary.state)) // 35422
 * } else {
 *   ThreadRunner.serve(Fib, { Fib: ({ n }) => Effect.sync(() => fib(n)) })
 * }
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as Threads from "../Threads.js"

/**
 * The thread side: serve Schema-typed request handlers inside a worker thread.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ThreadRunner } from "effect-supervisor/threads"
 *
 * class Double extends Schema.TaggedRequest<Double>()("Double", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * // a worker file is `ThreadRunner.serve(Double, handlers)`; the handlers alone run anywhere
 * const handlers: ThreadRunner.Handlers<Double> = { Double: ({ n }) => Effect.succeed(n * 2) }
 *
 * Effect.runPromise(handlers.Double(new Double({ n: 21 }))).then(console.log) // 42
 * ```
 *
 * @category modules
 * @since 0.1.0
 */
export * as ThreadRunner from "../ThreadRunner.js"

/**
 * The thread side of worker-thread offload: a worker file is one call to `serve`, with one
 * handler per request `_tag`.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/threads/runner.js"

/**
 * The handlers of a thread: one function per request `_tag`, returning an Effect whose success
 * and failure types are the ones the request's Schema declares.
 *
 * When to use: to type a handlers object written apart from the `serve` call (in its own module,
 * or to test the handlers on the main thread without starting a thread).
 *
 * Details: `R` is what the handlers need; `serve`'s `layer` provides it, once per thread.
 *
 * Gotchas: a typed failure must be the request's declared `failure` Schema (it is encoded with
 * it); anything else thrown or died with reaches the main side as a defect.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ThreadRunner } from "effect-supervisor/threads"
 *
 * class Square extends Schema.TaggedRequest<Square>()("Square", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * class Greet extends Schema.TaggedRequest<Greet>()("Greet", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: { name: Schema.String }
 * }) {}
 *
 * // one function per _tag, each typed by its request's Schemas (written apart from serve)
 * const handlers: ThreadRunner.Handlers<Square | Greet> = {
 *   Square: ({ n }) => Effect.succeed(n * n),
 *   Greet: ({ name }) => Effect.succeed(`hello ${name}`)
 * }
 *
 * Effect.runPromise(handlers.Square(new Square({ n: 3 }))).then(console.log) // 9
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Handlers<A extends Schema.TaggedRequest.All, R = never> = internal.Handlers<A, R>

/**
 * Serves Schema-typed requests on this worker thread: the whole worker file is this call.
 *
 * When to use: in the file you give to `Threads.resource` / `Threads.offload` as `file`.
 *
 * Details: runs @effect/platform's serialized worker protocol on @effect/platform-node's
 * `NodeWorkerRunner`, launched by `NodeRuntime.runMain`. `schema` is the union of the
 * `Schema.TaggedRequest` classes the thread answers (the same one the main side uses). Each
 * request runs in its own fiber; a typed failure is encoded with the request's `failure`
 * Schema and comes back on the main side as the same class. The optional `layer` is built once
 * when the thread starts, before the thread reports ready, and provides what the handlers need
 * (a loaded model, a wasm instance, a cache) for every request on this thread; it is released
 * when the thread stops, and built again on a new thread after a restart. If it fails with an
 * instance of a Schema class (a `Schema.TaggedError`), the failure is encoded with its class
 * and a main side whose spec names it in `layerError` fails the start with the same class
 * (`Effect.catchTag` works); any other failure reaches the main side as `ThreadStartFailed`
 * with the pretty-printed cause.
 *
 * Gotchas: call it on a worker thread only: on the main thread there is no port to serve, and
 * the process logs a `WorkerError` ("not in a worker") and exits with code 1 (a file that is
 * both sides checks `isMainThread`, as below). A handler interrupted by the main side (timeout, shutdown) is
 * interrupted cooperatively; code that never yields (a synchronous loop) cannot be, and the
 * main side terminates the thread after `grace`. `process.exit` or an uncaught throw ends the
 * thread: the request in flight fails with `WorkerCrashed`. The file can be TypeScript: the
 * main side loads it through tsx (an optional peer dependency) when its name ends in `.ts`.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Translate extends Schema.TaggedRequest<Translate>()("Translate", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: { word: Schema.String }
 * }) {}
 *
 * // what every request on a thread shares, built once per thread (a model, a wasm instance, …)
 * class Dictionary extends Context.Tag("Dictionary")<Dictionary, ReadonlyMap<string, string>>() {}
 * const DictionaryLive = Layer.sync(Dictionary, () => new Map([["cat", "chat"], ["dog", "chien"]]))
 *
 * // one file, both sides: the main thread starts this same file as its worker thread
 * if (isMainThread) {
 *   const program = Supervisor.run(["cat", "dog"].map((word) => new Translate({ word })), {
 *     workers: 1,
 *     ...Threads.offload({ file: new URL(import.meta.url), schema: Translate }),
 *     initial: [] as ReadonlyArray<string>,
 *     combine: (words, word) => [...words, word]
 *   })
 *   Effect.runPromise(program).then((summary) => console.log(summary.state.join(" "))) // chat chien
 * } else {
 *   // the thread's whole program: serve the requests, with the layer's services
 *   ThreadRunner.serve(
 *     Translate,
 *     { Translate: ({ word }) => Effect.map(Dictionary, (dictionary) => dictionary.get(word) ?? word) },
 *     DictionaryLive
 *   )
 * }
 * ```
 *
 * @category serving
 * @since 0.1.0
 */
export const serve: {
  <A extends Schema.TaggedRequest.All, I>(schema: Schema.Schema<A, I, never>, handlers: Handlers<A>): void
  <A extends Schema.TaggedRequest.All, I, R>(
    schema: Schema.Schema<A, I, never>,
    handlers: Handlers<A, R>,
    layer: Layer.Layer<R, unknown>
  ): void
} = <A extends Schema.TaggedRequest.All, I, R>(
  schema: Schema.Schema<A, I, never>,
  handlers: Handlers<A, R>,
  layer?: Layer.Layer<R, unknown>
): void => internal.serve(schema, handlers, layer ?? (Layer.empty as Layer.Layer<R>))

/**
 * The thread side: @effect/platform's serialized worker runner on @effect/platform-node's
 * `NodeWorkerRunner`, with the per-thread layer built before the thread reports ready, and a
 * start failure reported to the main side before the thread exits.
 *
 * @internal
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import type { WorkerError } from "@effect/platform/WorkerError"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as WT from "node:worker_threads"

/** @internal */
export type Handlers<A extends Schema.TaggedRequest.All, R> = {
  readonly [K in A["_tag"]]: (
    request: Extract<A, { readonly _tag: K }>
  ) => Effect.Effect<
    Schema.WithResult.Success<Extract<A, { readonly _tag: K }>>,
    Schema.WithResult.Failure<Extract<A, { readonly _tag: K }>>,
    R
  >
}

/** @internal */
export const program = <A extends Schema.TaggedRequest.All, I, R>(
  schema: Schema.Schema<A, I, never>,
  handlers: Handlers<A, R>,
  layer: Layer.Layer<R, unknown>
): Effect.Effect<void, unknown> =>
  WorkerRunner.launch(
    (WorkerRunner.layerSerialized(schema, handlers as any) as Layer.Layer<
      never,
      WorkerError,
      R | WorkerRunner.PlatformRunner
    >).pipe(
      Layer.provide(layer),
      Layer.provide(NodeWorkerRunner.layer)
    )
  ).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        WT.parentPort?.postMessage([2, Cause.pretty(cause)])
      })
    )
  )

/** @internal */
export const serve = <A extends Schema.TaggedRequest.All, I, R>(
  schema: Schema.Schema<A, I, never>,
  handlers: Handlers<A, R>,
  layer: Layer.Layer<R, unknown>
): void =>
  NodeRuntime.runMain(program(schema, handlers, layer), {
    // on a thread the main side reports the failure (ThreadStartFailed / WorkerCrashed)
    disableErrorReporting: WT.parentPort !== null
  })

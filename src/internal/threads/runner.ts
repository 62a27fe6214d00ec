/**
 * The thread side: @effect/platform's worker protocol served on @effect/platform-node's
 * `NodeWorkerRunner` (port, ready handshake, close), one fiber per request. The per-thread
 * layer is built before the thread reports ready; a start failure is reported to the main side
 * before the thread exits.
 *
 * Not `WorkerRunner.layerSerialized`: per request it provides the handlers' context and a
 * transferables collector to a fiber, rebuilds encoders and joins a FiberSet — several µs each,
 * on the path of every round trip. Here a request costs one fiber; encoders are built once per
 * request type and run synchronously.
 *
 * @internal
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import type * as Worker from "@effect/platform/Worker"
import { isWorkerError, WorkerError } from "@effect/platform/WorkerError"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as WT from "node:worker_threads"
import { andThen, byTag, encoder } from "./codec.js"

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

const encodeCause = (cause: Cause.Cause<WorkerError>) => WorkerError.encodeCause(cause)

const run = <A extends Schema.TaggedRequest.All, I, R>(
  schema: Schema.Schema<A, I, never>,
  handlers: Handlers<A, R>
) =>
  Effect.gen(function*() {
    const platform = yield* WorkerRunner.PlatformRunner
    const backing = yield* platform.start<Worker.Worker.Request<unknown>, Worker.Worker.Response<unknown>>(
      yield* WorkerRunner.CloseLatch
    )
    const runFork = Runtime.runFork(
      (yield* Effect.runtime<R>()).pipe(Runtime.updateContext(Context.omit(Scope.Scope))) as Runtime.Runtime<R>
    )
    const decode = Schema.decodeUnknown(schema)
    const encoders = byTag((request) => ({
      success: encoder(Schema.encode(Schema.successSchema(request as any) as Schema.Schema<unknown>)),
      failure: encoder(Schema.encode(Schema.failureSchema(request as any) as Schema.Schema<unknown>))
    }))
    const fibers = new Map<number, Fiber.RuntimeFiber<unknown, unknown>>()
    yield* Effect.addFinalizer(() => Fiber.interruptAll(Array.from(fibers.values())))

    const reply = (id: number, request: A | undefined, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> => {
      // a reply that cannot be posted (not cloneable) must still settle the request
      const send = (response: Worker.Worker.Response<unknown>, transfers?: ReadonlyArray<unknown>) =>
        backing.send(0, response, transfers).pipe(
          Effect.catchAllDefect((cause) =>
            backing.send(0, [id, 3, encodeCause(Cause.fail(new WorkerError({ reason: "send", cause })))])
          )
        )
      const sendCause = (cause: Cause.Cause<WorkerError>) => send([id, 3, encodeCause(cause)])
      const encoded = (
        encoded: ReturnType<ReturnType<typeof encoders>["success"]>,
        kind: 0 | 2
      ) =>
        andThen(encoded, ([payload, transfers]) => send(kind === 0 ? [id, 0, [payload]] : [id, 2, payload], transfers))
          .pipe(
            Effect.catchAll((cause) => sendCause(Cause.fail(new WorkerError({ reason: "encode", cause }))))
          )
      if (Exit.isSuccess(exit)) return encoded(encoders(request!).success(exit.value), 0)
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "None") return sendCause(exit.cause as Cause.Cause<never>)
      if (isWorkerError(failure.value)) return sendCause(Cause.fail(failure.value))
      return encoded(encoders(request!).failure(failure.value), 2)
    }

    yield* backing.run<void, never, never>((_portId, [id, kind, data]) => {
      if (kind === 1) {
        fibers.get(id)?.unsafeInterruptAsFork(FiberId.none)
        return
      }
      let request: A | undefined
      const fiber = runFork(
        decode(data).pipe(
          Effect.mapError((cause) => new WorkerError({ reason: "decode", cause })),
          Effect.flatMap((decoded): Effect.Effect<unknown, unknown, R> => {
            request = decoded
            return (handlers[decoded._tag as A["_tag"]] as (request: A) => Effect.Effect<unknown, unknown, R>)(decoded)
          }),
          Effect.onExit((exit) => reply(id, request, exit))
        )
      )
      fibers.set(id, fiber)
      fiber.addObserver(() => fibers.delete(id))
    })
  })

/**
 * A typed failure that is an instance of a Schema class (`Schema.TaggedError`) is its own
 * Schema: encoded with its class, so the main side can rebuild it. Anything else crosses the
 * thread as text only.
 */
const encodeTyped = (failure: Option.Option<unknown>): unknown => {
  if (Option.isNone(failure) || typeof failure.value !== "object" || failure.value === null) return undefined
  const schema = failure.value.constructor
  if (!Schema.isSchema(schema)) return undefined
  const encoded = Schema.encodeEither(schema as unknown as Schema.Schema<unknown, unknown>)(failure.value)
  return Either.isRight(encoded) ? encoded.right : undefined
}

/** @internal */
export const program = <A extends Schema.TaggedRequest.All, I, R>(
  schema: Schema.Schema<A, I, never>,
  handlers: Handlers<A, R>,
  layer: Layer.Layer<R, unknown>
): Effect.Effect<void, unknown> =>
  WorkerRunner.launch(
    Layer.scopedDiscard(run(schema, handlers)).pipe(
      Layer.provide(layer),
      Layer.provide(NodeWorkerRunner.layer)
    )
  ).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        const encoded = encodeTyped(Cause.failureOption(cause))
        WT.parentPort?.postMessage(encoded === undefined ? [2, Cause.pretty(cause)] : [2, Cause.pretty(cause), encoded])
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

/**
 * The thread side: @effect/platform-node's `NodeWorkerRunner` for the port, the ready handshake
 * and close, our own requests on it (see `Request` in thread.ts), one fiber per request (none
 * for a chunk's request whose handler is a `succeed`, `fail` or `sync`: it runs in place). A
 * request sent alone starts at once; the requests of a chunk (a supervisor worker's tasks) run
 * one at a time, in order. Replies to the requests that ended in one go leave as one message.
 * The per-thread layer is built before the thread reports ready; a start failure is reported to
 * the main side before the thread exits.
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
import * as Chunk from "effect/Chunk"
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
import { effectOf } from "../handlerResult.js"
import { exitOf } from "../immediate.js"
import type { Encoded } from "./codec.js"
import { byTag, encoder } from "./codec.js"
import { Outbox } from "./outbox.js"
import type { Reply, Request } from "./thread.js"

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

/** The longest a thread holds finished replies while it runs a chunk's synchronous requests. */
const FLUSH_EVERY_MS = 2

/**
 * A cause as it crosses to the main side. A defect the encoding cannot describe (a BigInt, a
 * `toJSON` that throws) crosses as a plain `Error` with what can be said of it: the task still
 * gets its outcome, and the thread lives on.
 */
const encodeCause = (cause: Cause.Cause<WorkerError>): unknown => {
  try {
    return WorkerError.encodeCause(cause)
  } catch (error) {
    const described = Cause.defects(cause).pipe(Chunk.map(describe), Chunk.join("; "))
    return WorkerError.encodeCause(
      Cause.die(new Error(`a defect that cannot cross a thread (${describe(error)}): ${described}`))
    )
  }
}

const describe = (value: unknown): string => {
  try {
    return typeof value === "bigint" ? `${value}n` : value instanceof Error ? value.message : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** The reply for a request whose result could not be encoded or sent. */
const failed = (
  id: number,
  reason: "encode" | "send",
  cause: unknown
): Reply => [id, 3, encodeCause(Cause.fail(new WorkerError({ reason, cause })))]

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
    const decodeSync = Schema.decodeUnknownEither(schema)
    const encoders = byTag((request) => ({
      success: encoder(Schema.successSchema(request as any) as Schema.Schema<unknown>),
      failure: encoder(Schema.failureSchema(request as any) as Schema.Schema<unknown>)
    }))
    const fibers = new Map<number, Fiber.RuntimeFiber<unknown, unknown>>()
    // replies go out together: every request a message started that ended in one go
    const outbox = new Outbox<Reply>(
      (replies, transfers) => WT.parentPort!.postMessage([3, replies], transfers as Array<WT.TransferListItem>),
      // a reply that cannot be posted (not cloneable) must still settle the request
      (reply, cause) => WT.parentPort!.postMessage([3, [failed(reply[0], "send", cause)]])
    )
    // requests that came in a chunk: run one at a time, in order (a supervisor worker's tasks)
    // a handler that ends the thread (`process.exit`) must not take the replies of the requests
    // that ended before it with it: they go out on the way (the main side gets them before it
    // sees the exit)
    process.once("exit", () => outbox.flush())
    const queued = new Map<number, unknown>()
    const started = (WT.workerData as { effectSupervisorStarted?: Float64Array } | null)?.effectSupervisorStarted
    let current: number | undefined
    // an interruption from here on is the thread's own (see `reply`)
    let closing = false
    // closing: queued requests never start (the main side has failed them already)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closing = true
        queued.clear()
        return Fiber.interruptAll(Array.from(fibers.values()))
      })
    )

    // Queues the reply to request `id`; an Effect only when the encoding is asynchronous.
    const reply = (
      id: number,
      request: A | undefined,
      exit: Exit.Exit<unknown, unknown>
    ): Effect.Effect<void> | undefined => {
      const encoded = (encode: () => ReturnType<ReturnType<typeof encoders>["success"]>, kind: 0 | 2) => {
        const add = ([payload, transfers]: Encoded) =>
          outbox.add(kind === 0 ? [id, 0, [payload]] : [id, 2, payload], transfers)
        const unencodable = (cause: unknown) => outbox.add(failed(id, "encode", cause))
        let encoding: ReturnType<typeof encode>
        try {
          encoding = encode()
        } catch (cause) {
          // a transformation of the user's that throws: this request's Defect, the thread lives
          unencodable(cause)
          return undefined
        }
        if (!Exit.isExit(encoding)) {
          return Effect.matchEffect(encoding, {
            onFailure: (cause) => Effect.sync(() => unencodable(cause)),
            onSuccess: (value) => Effect.sync(() => add(value))
          })
        }
        if (Exit.isSuccess(encoding)) add(encoding.value)
        else unencodable(Cause.squash(encoding.cause))
        return undefined
      }
      if (Exit.isSuccess(exit)) return encoded(() => encoders(request!).success(exit.value), 0)
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "None") {
        // interrupted, and the thread is not closing: by the handler itself, or by the main side
        // (whose caller has its answer already)
        if (!closing && Cause.isInterruptedOnly(exit.cause)) outbox.add([id, 4])
        else outbox.add([id, 3, encodeCause(exit.cause as never)])
        return undefined
      }
      const error = failure.value
      if (isWorkerError(error)) {
        outbox.add([id, 3, encodeCause(Cause.fail(error))])
        return undefined
      }
      return encoded(() => encoders(request!).failure(error), 2)
    }

    const fork = (id: number, effect: Effect.Effect<unknown, unknown, R>) => {
      const fiber = runFork(effect)
      fibers.set(id, fiber)
      fiber.addObserver(() => fibers.delete(id))
      return fiber
    }

    const start = (id: number, data: unknown): Fiber.RuntimeFiber<unknown, unknown> => {
      let request: A | undefined
      return fork(
        id,
        // suspended: a transformation that throws is this request's defect, not the thread's
        Effect.suspend(() => decode(data)).pipe(
          Effect.mapError((cause) => new WorkerError({ reason: "decode", cause })),
          Effect.flatMap((decoded): Effect.Effect<unknown, unknown, R> => {
            request = decoded
            return effectOf(
              (handlers[decoded._tag as A["_tag"]] as (request: A) => Effect.Effect<unknown, unknown, R>)(decoded),
              decoded._tag
            )
          }),
          Effect.onExit((exit) => reply(id, request, exit) ?? Effect.void)
        )
      )
    }

    // A request that decodes synchronously and whose handler returns an Exit (`Effect.succeed`,
    // `Effect.fail`) or a `sync` ends without a fiber (see immediate.ts: a fiber per CPU-bound
    // request was ~1/3 of the thread's time between two tasks); true when it has ended.
    const quick = (id: number, data: unknown): boolean | Fiber.RuntimeFiber<unknown, unknown> => {
      let decoded: ReturnType<typeof decodeSync>
      try {
        decoded = decodeSync(data)
      } catch {
        return false // `start` decodes it again, where the throw is the request's defect
      }
      if (Either.isLeft(decoded)) return false
      const request = decoded.right
      let effect: Effect.Effect<unknown, unknown, R>
      try {
        effect = effectOf(
          (handlers[request._tag as A["_tag"]] as (request: A) => Effect.Effect<unknown, unknown, R>)(request),
          request._tag
        )
      } catch (defect) {
        effect = Exit.die(defect)
      }
      const exit = Exit.isExit(effect) ? effect : exitOf(effect)
      if (exit === undefined) {
        return fork(
          id,
          Effect.onExit(effect, (exit) => reply(id, request, exit) ?? Effect.void)
        )
      }
      const rest = reply(id, request, exit)
      return rest === undefined ? true : fork(id, rest)
    }

    // Starts queued requests until one suspends; a synchronous handler ends inside `runFork`,
    // so a chunk of them runs in this loop (no recursion through observers).
    const pump = (): void => {
      let flushed = performance.now()
      while (current === undefined && queued.size > 0) {
        // a long run of synchronous requests: what ended so far goes out now, not at the end
        const now = performance.now()
        if (now - flushed > FLUSH_EVERY_MS) {
          outbox.flush()
          flushed = now
        }
        const [id, data] = queued.entries().next().value!
        queued.delete(id)
        // before it starts: a thread that dies in it tells the main side which ones it never began
        if (started !== undefined) started[0] = id
        const ran = quick(id, data)
        if (ran === true) continue
        const fiber = ran === false ? start(id, data) : ran
        if (fiber.unsafePoll() !== null) continue
        current = id
        fiber.addObserver(() => {
          current = undefined
          pump()
        })
      }
    }

    yield* backing.run<void, never, never>((_portId, message) => {
      const [id, kind, data] = message as unknown as Request
      switch (kind) {
        case 1: {
          // an interrupt: a queued request never starts; a running one is interrupted
          // (`[id, 1]`: ended without a value, which tells the main side it never began)
          if (queued.delete(id)) outbox.add([id, 1])
          else fibers.get(id)?.unsafeInterruptAsFork(FiberId.none)
          return
        }
        case 2: {
          for (const [id, payload] of data as ReadonlyArray<readonly [number, unknown]>) queued.set(id, payload)
          return pump()
        }
        default:
          start(id, data)
      }
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

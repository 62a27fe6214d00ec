/**
 * The main side of one supervisor worker's thread: Schema-typed calls, interruption that
 * reaches the thread (and terminates it after `grace`), replacement of a terminated thread.
 *
 * @internal
 */
import * as Transferable from "@effect/platform/Transferable"
import { WorkerError } from "@effect/platform/WorkerError"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { WorkerCrashed } from "../../Errors.js"
import type { ThreadStartFailed } from "./errors.js"
import type { Reply, SpawnOptions, Thread } from "./thread.js"
import { post, spawn, terminate } from "./thread.js"

/** @internal */
export interface Client<A extends Schema.TaggedRequest.All> {
  readonly execute: <Req extends A>(
    request: Req
  ) => Effect.Effect<
    Schema.WithResult.Success<Req>,
    Schema.WithResult.Failure<Req> | ParseResult.ParseError | WorkerCrashed
  >
  readonly threadId: Effect.Effect<number, WorkerCrashed>
}

/** Encodes requests with the union Schema, collecting the transferables it marks. */
const encoder = <A>(schema: Schema.Schema<A, unknown>) => {
  const encode = Schema.encode(schema)
  return (request: A) =>
    Effect.suspend(() => {
      const collector = Transferable.unsafeMakeCollector()
      return encode(request).pipe(
        Effect.provideService(Transferable.Collector, collector),
        Effect.map((payload) => [payload, collector.unsafeRead()] as const)
      )
    })
}

const decodeReply = (
  request: Schema.TaggedRequest.All,
  reply: Reply | WorkerCrashed
): Effect.Effect<any, any> => {
  if (reply instanceof WorkerCrashed) return Effect.fail(reply)
  switch (reply[1]) {
    case 0:
      return Schema.deserializeSuccess(request as any, reply[2][0])
    case 2:
      return Effect.flatMap(Schema.deserializeFailure(request as any, reply[2]), Effect.fail)
    case 3: {
      const cause = Effect.try(() => WorkerError.decodeCause(reply[2] as any))
      return Effect.flatMap(
        Effect.orDie(cause),
        (cause) =>
          Cause.isInterruptedOnly(cause)
            // the thread interrupted the request on its own: it is shutting down
            ? Effect.fail(new WorkerCrashed({ cause: new Error("the thread interrupted the request") }))
            : Effect.die(Cause.squash(cause))
      )
    }
    case 1:
      return Effect.dieMessage("the thread ended the request without a value")
  }
}

/**
 * Creates the client: spawns its first thread in the current scope (so a thread that cannot
 * start fails acquisition with `ThreadStartFailed`).
 *
 * @internal
 */
export const make = <A extends Schema.TaggedRequest.All>(
  schema: Schema.Schema<A, any>,
  options: SpawnOptions
): Effect.Effect<Client<A>, ThreadStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const encode = encoder(schema)
    const scope = yield* Effect.scope
    const graceMillis = Duration.toMillis(options.grace)
    // the thread calls go to; replaced by a new one after a thread is terminated for not
    // answering an interrupt within grace
    let current = yield* Deferred.make<Thread, ThreadStartFailed>()
    yield* Deferred.succeed(current, yield* spawn(options, scope))

    const replace = (thread: Thread, cause: unknown): Effect.Effect<void> =>
      Effect.suspend(() => {
        const next = Deferred.unsafeMake<Thread, ThreadStartFailed>(FiberId.none)
        current = next
        return terminate(thread, cause).pipe(
          // interruptible: this runs in an interrupted caller's (uninterruptible) canceler, and
          // closing the scope must be able to stop a start-up in progress
          Effect.zipRight(Effect.forkIn(Effect.interruptible(Effect.intoDeferred(spawn(options, scope), next)), scope))
        )
      })

    // Runs when the caller is interrupted (a timeout, shutdown): interrupt the request inside
    // the thread; if no reply comes within grace, the thread is terminated and replaced.
    const cancel = (thread: Thread, id: number): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        if (!thread.pending.has(id)) return resume(Effect.void)
        const timer = setTimeout(() => {
          thread.pending.delete(id)
          resume(replace(
            thread,
            new Error(`worker thread ${thread.threadId} did not stop within ${Duration.format(options.grace)}`)
          ))
        }, graceMillis)
        thread.pending.set(id, () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        post(thread, [0, [id, 1]])
      })

    const call = (
      thread: Thread,
      request: Schema.TaggedRequest.All,
      payload: unknown,
      transfers: ReadonlyArray<unknown>
    ) =>
      Effect.async<Reply | WorkerCrashed>((resume) => {
        if (thread.crashed !== undefined) return resume(Effect.succeed(thread.crashed))
        const id = thread.nextId++
        thread.pending.set(id, (reply) => resume(Effect.succeed(reply)))
        try {
          post(thread, [0, [id, 0, payload, undefined]], transfers)
        } catch (cause) {
          thread.pending.delete(id)
          return resume(Effect.die(cause))
        }
        return cancel(thread, id)
      }).pipe(Effect.flatMap((reply) => decodeReply(request, reply)))

    const currentThread = Effect.suspend(() => Deferred.await(current)).pipe(
      Effect.mapError((cause) => new WorkerCrashed({ cause }))
    )

    const client: Client<A> = {
      execute: (request) =>
        Effect.flatMap(
          encode(request),
          ([payload, transfers]) => Effect.flatMap(currentThread, (thread) => call(thread, request, payload, transfers))
        ),
      threadId: Effect.map(currentThread, (thread) => thread.threadId)
    }
    return client
  })

/**
 * The main side of one supervisor worker's thread: Schema-typed calls, interruption that
 * reaches the thread (and terminates it after `grace`), replacement of a terminated thread.
 *
 * @internal
 */
import { WorkerError } from "@effect/platform/WorkerError"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type { ThreadStartFailed } from "../../Errors.js"
import { WorkerCrashed } from "../../Errors.js"
import type { Thread as PublicThread } from "../../Threads.js"
import type { Encoded } from "./codec.js"
import { andThen, byTag, encoder } from "./codec.js"
import type { Validated } from "./spec.js"
import type { Reply, Thread } from "./thread.js"
import { markCrashed, post, settlesWithin, spawn, terminate } from "./thread.js"

interface ReplyDecoders {
  readonly success: (value: unknown) => Effect.Effect<unknown, ParseResult.ParseError>
  readonly failure: (error: unknown) => Effect.Effect<unknown, ParseResult.ParseError>
}

/** @internal */
export type Client<A extends Schema.TaggedRequest.All> = PublicThread<A>

const decodeCause = (encoded: unknown): Effect.Effect<never, WorkerCrashed> =>
  Effect.flatMap(
    Effect.orDie(Effect.try(() => WorkerError.decodeCause(encoded as any))),
    (cause) =>
      Cause.isInterruptedOnly(cause)
        // the thread interrupted the request on its own: it is shutting down
        ? Effect.fail(new WorkerCrashed({ cause: new Error("the thread interrupted the request") }))
        : Effect.die(Cause.squash(cause))
  )

/**
 * Creates the client: spawns its first thread in the current scope (so a thread that cannot
 * start fails acquisition with `ThreadStartFailed`).
 *
 * @internal
 */
export const make = <A extends Schema.TaggedRequest.All, LE>(
  options: Validated<LE>
): Effect.Effect<Client<A>, ThreadStartFailed | LE, Scope.Scope> =>
  Effect.gen(function*() {
    const schema = options.schema as Schema.Schema<A, unknown>
    const scope = yield* Effect.scope
    const encode = encoder(Schema.encode(schema))
    // A task's reply decoders come from its request class (`Schema.successSchema` reads them off
    // the instance). A plain object `{ _tag, ... }` that the union encodes carries none: it is
    // decoded with the union into its class first, once per tag (one class per tag).
    const decodeRequest = Schema.decodeUnknownEither(schema)
    const decoders = byTag((request) => ({
      success: Schema.decodeUnknown(Schema.successSchema(request as any) as Schema.Schema<unknown>),
      failure: Schema.decodeUnknown(Schema.failureSchema(request as any) as Schema.Schema<unknown>)
    }))
    const decodersOf = (request: Schema.TaggedRequest.All, payload: unknown) => {
      if (Schema.symbolWithResult in request) return Either.right(decoders(request))
      return Either.map(decodeRequest(payload), decoders)
    }
    const graceMillis = Duration.toMillis(options.grace)
    // The thread calls go to. `ready` is set while it is up; `current` completes with it, and
    // is replaced by a new Deferred when a thread is terminated for not answering an interrupt
    // within grace (calls in between wait for the replacement).
    let ready: Thread | undefined = yield* spawn(options, scope)
    let current = yield* Deferred.make<Thread, ThreadStartFailed | LE>()
    yield* Deferred.succeed(current, ready)

    const replace = (thread: Thread, cause: unknown): Effect.Effect<void> =>
      Effect.suspend(() => {
        const next = Deferred.unsafeMake<Thread, ThreadStartFailed | LE>(FiberId.none)
        current = next
        ready = undefined
        const respawn = spawn(options, scope).pipe(
          Effect.tap((thread) => {
            if (current === next) ready = thread
          }),
          Effect.intoDeferred(next)
        )
        return terminate(thread, cause).pipe(
          Effect.zipRight(Scope.close(thread.scope, Exit.void)),
          // interruptible: this runs in an interrupted caller's (uninterruptible) canceler, and
          // closing the scope must be able to stop a start-up in progress
          Effect.zipRight(Effect.forkIn(Effect.interruptible(respawn), scope))
        )
      })

    // Runs when the caller is interrupted (a timeout, shutdown): interrupt the request inside
    // the thread; if no reply comes within grace, the thread is terminated and replaced.
    const cancel = (thread: Thread, id: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!thread.pending.has(id)) return Effect.void
        // a reply, or the thread crashing (which settles every pending request), ends the wait
        const answered = new Promise<void>((resolve) => thread.pending.set(id, () => resolve()))
        post(thread, [0, [id, 1]])
        return Effect.flatMap(settlesWithin(answered, graceMillis), (stopped) => {
          if (stopped) return Effect.void
          thread.pending.delete(id)
          // another call may have had this thread replaced already
          if (thread.crashed !== undefined) return Effect.void
          const cause = new Error(
            `worker thread ${thread.threadId} did not stop within ${Duration.format(options.grace)}`
          )
          // at once, so that other calls in flight on this thread fail now, and replace it once
          markCrashed(thread, cause)
          return replace(thread, cause)
        })
      })

    const decode = (replyDecoders: ReplyDecoders, reply: Reply | WorkerCrashed): Effect.Effect<any, any> => {
      if (reply instanceof WorkerCrashed) return Effect.fail(reply)
      switch (reply[1]) {
        case 0:
          return replyDecoders.success(reply[2][0])
        case 2:
          return Effect.flatMap(replyDecoders.failure(reply[2]), Effect.fail)
        case 3:
          return decodeCause(reply[2])
        case 1:
          return Effect.dieMessage("the thread ended the request without a value")
      }
    }

    const call = (thread: Thread, replyDecoders: ReplyDecoders, [payload, transfers]: Encoded) =>
      Effect.async<any, any>((resume) => {
        if (thread.crashed !== undefined) return resume(Effect.fail(thread.crashed))
        const id = thread.nextId++
        thread.pending.set(id, (reply) => resume(decode(replyDecoders, reply)))
        try {
          post(thread, [0, [id, 0, payload, undefined]], transfers)
        } catch (cause) {
          thread.pending.delete(id)
          return resume(Effect.die(cause))
        }
        return cancel(thread, id)
      })

    const currentThread = Effect.suspend(() => Deferred.await(current)).pipe(
      Effect.mapError((cause) => new WorkerCrashed({ cause }))
    )

    const send = (request: Schema.TaggedRequest.All, encoded: Encoded) => {
      const replyDecoders = decodersOf(request, encoded[0])
      if (Either.isLeft(replyDecoders)) return Effect.fail(replyDecoders.left)
      return ready !== undefined
        ? call(ready, replyDecoders.right, encoded)
        : Effect.flatMap(currentThread, (thread) => call(thread, replyDecoders.right, encoded))
    }

    const client: Client<A> = {
      execute: (request) => Effect.suspend(() => andThen(encode(request), (encoded) => send(request, encoded))),
      threadId: Effect.map(currentThread, (thread) => thread.threadId)
    }
    return client
  })

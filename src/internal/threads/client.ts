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
import type { ChunkExit, ChunkRunner } from "../chunked.js"
import { ChunkedResource, NotStarted } from "../chunked.js"
import type { Encoded } from "./codec.js"
import { andThen, byTag, encoder } from "./codec.js"
import { DetachedTransfer, distinct, isDetached } from "./outbox.js"
import type { Validated } from "./spec.js"
import type { Reply, Thread } from "./thread.js"
import { post, settlesWithin, spawn, terminate } from "./thread.js"

/** A reply's value decoded: an `Exit` when its Schema decodes synchronously (almost always). */
type Decoded = Exit.Exit<unknown, unknown> | Effect.Effect<unknown, unknown>

interface ReplyDecoders {
  readonly success: (value: unknown) => Decoded
  readonly failure: (error: unknown) => Decoded
}

/**
 * `Schema.decodeUnknownEither` with no fiber; a Schema that decodes asynchronously (Forbidden
 * synchronously) falls back to the Effect decoder, which runs in the caller's fiber.
 */
const decoder = (schema: Schema.Schema<unknown>): (value: unknown) => Decoded => {
  const sync = Schema.decodeUnknownEither(schema)
  const inFiber = Schema.decodeUnknown(schema)
  return (value) => {
    let decoded: Either.Either<unknown, ParseResult.ParseError>
    try {
      decoded = sync(value)
    } catch (defect) {
      // a transformation of the user's that throws, here inside the thread's message listener:
      // this task's defect, never the host's uncaught exception
      return Exit.die(defect)
    }
    if (Either.isRight(decoded)) return Exit.succeed(decoded.right)
    return decoded.left.issue._tag === "Forbidden" ? inFiber(value) : Exit.fail(decoded.left)
  }
}

/** A chunk's request interrupted before the thread began it: the worker hands it back. */
const interruptedUnstarted = new WorkerCrashed({ cause: new NotStarted("interrupted before the thread began it") })

/** The failure of a request its thread never began because the thread had died already. */
const diedBefore = (crashed: WorkerCrashed) => new WorkerCrashed({ cause: new NotStarted(String(crashed.cause)) })

/** @internal */
export type Client<A extends Schema.TaggedRequest.All> = PublicThread<A>

const decodeCause = (encoded: unknown): Exit.Exit<never, WorkerCrashed> => {
  let cause: Cause.Cause<unknown>
  try {
    cause = WorkerError.decodeCause(encoded as any)
  } catch (defect) {
    return Exit.die(defect)
  }
  return Cause.isInterruptedOnly(cause)
    // the thread interrupted the request on its own: it is shutting down
    ? Exit.fail(new WorkerCrashed({ cause: new Error("the thread interrupted the request") }))
    : Exit.die(Cause.squash(cause))
}

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
    const encode = encoder(schema)
    // A task's reply decoders come from its request class (`Schema.successSchema` reads them off
    // the instance). A plain object `{ _tag, ... }` that the union encodes carries none: it is
    // decoded with the union into its class first, once per tag (one class per tag).
    const decodeRequest = Schema.decodeUnknownEither(schema)
    const decoders = byTag((request): ReplyDecoders => {
      const failure = decoder(Schema.failureSchema(request as any) as Schema.Schema<unknown>)
      return {
        success: decoder(Schema.successSchema(request as any) as Schema.Schema<unknown>),
        failure: (error) => {
          const decoded = failure(error)
          if (!Exit.isExit(decoded)) return Effect.flatMap(decoded, Effect.fail)
          return Exit.isSuccess(decoded) ? Exit.fail(decoded.value) : decoded
        }
      }
    })
    // Left: how the task ends without being sent (its request does not decode, or its schema
    // throws: a union member that is no TaggedRequest has no reply schemas)
    const decodersOf = (
      request: Schema.TaggedRequest.All,
      payload: unknown
    ): Either.Either<ReplyDecoders, Exit.Exit<never, ParseResult.ParseError>> => {
      try {
        if (Schema.symbolWithResult in request) return Either.right(decoders(request))
        return Either.mapBoth(decodeRequest(payload), { onLeft: Exit.fail, onRight: decoders })
      } catch (defect) {
        return Either.left(Exit.die(defect))
      }
    }
    const graceMillis = Duration.toMillis(options.grace)
    // The thread calls go to. `ready` is set while it is up; `current` completes with it, and
    // is replaced by a new Deferred when a thread is terminated for not answering an interrupt
    // within grace (calls in between wait for the replacement).
    let ready: Thread | undefined = yield* spawn(options, scope)
    // the replacement of a terminated thread did not start: this client has no thread any more
    // (calls fail), and the worker's next task finds it out before it begins (`dead`)
    let replacementFailed: WorkerCrashed | undefined
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
          Effect.tapError((cause) =>
            Effect.sync(() => {
              if (current === next) replacementFailed = new WorkerCrashed({ cause })
            })
          ),
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
    const cancel = (thread: Thread, id: number, unstarted?: () => void): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!thread.pending.has(id)) return Effect.void
        // a reply, or the thread crashing (which settles every pending request), ends the wait;
        // `[id, 1]` says a chunk's request was dropped before the thread began it
        const answered = new Promise<void>((resolve) =>
          thread.pending.set(id, (reply) => {
            thread.inChunks.delete(id)
            const never = reply instanceof WorkerCrashed ? reply.cause instanceof NotStarted : reply[1] === 1
            if (unstarted !== undefined && never) unstarted()
            resolve()
          })
        )
        // the request may still be in the outbox: it goes first
        thread.outbox.flush()
        post(thread, [0, [id, 1]])
        return Effect.flatMap(settlesWithin(answered, graceMillis), (stopped) => {
          if (stopped) return Effect.void
          // another call may have had this thread replaced already
          if (thread.crashed !== undefined || thread.ending !== undefined) return Effect.void
          // its requests fail once it has exited (the ones it never began as `NotStarted`),
          // this one's wait included: `unstarted` then hands it back
          return replace(
            thread,
            new Error(`worker thread ${thread.threadId} did not stop within ${Duration.format(options.grace)}`)
          )
        })
      })

    const decode = (replyDecoders: ReplyDecoders, reply: Reply | WorkerCrashed): Decoded => {
      if (reply instanceof WorkerCrashed) return Exit.fail(reply)
      switch (reply[1]) {
        case 0:
          return replyDecoders.success(reply[2][0])
        case 2:
          return replyDecoders.failure(reply[2])
        case 3:
          return decodeCause(reply[2])
        case 1:
          return Exit.die(new Error("the thread ended the request without a value"))
        case 4:
          // as an in-process handler that interrupts itself: the task ends `Interrupted`
          return Exit.interrupt(FiberId.none)
      }
    }

    const call = (thread: Thread, replyDecoders: ReplyDecoders, [payload, transfers]: Encoded) =>
      Effect.async<any, any>((resume) => {
        if (thread.crashed !== undefined) return resume(Effect.fail(thread.crashed))
        // see outbox.ts: a moved buffer would end the thread
        if (transfers.some(isDetached)) return resume(Effect.die(new DetachedTransfer()))
        const id = thread.nextId++
        thread.pending.set(id, (reply) => resume(decode(replyDecoders, reply)))
        try {
          post(thread, [0, [id, 0, payload, undefined]], distinct(transfers))
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
      if (Either.isLeft(replyDecoders)) return replyDecoders.left
      return ready !== undefined
        ? call(ready, replyDecoders.right, encoded)
        : Effect.flatMap(currentThread, (thread) => call(thread, replyDecoders.right, encoded))
    }

    // Interrupts every chunked request still in flight on this thread, newest first: the queued
    // ones are dropped before the running one stops (the thread would start the next one).
    const interruptChunks = (thread: Thread): Effect.Effect<void> =>
      Effect.suspend(() =>
        Effect.forEach(
          Array.from(thread.inChunks).reverse(),
          ([id, unstarted]) => cancel(thread, id, unstarted),
          { concurrency: "unbounded", discard: true }
        )
      )

    // A chunk: every request encoded and sent in one message, which the thread runs one at a
    // time; each ends through `onExit` (no fiber per request), and `landed` once all have.
    const register = (
      thread: Thread,
      requests: ReadonlyArray<A>,
      encodings: ReadonlyArray<Exit.Exit<Encoded, ParseResult.ParseError>>,
      onExit: ChunkExit,
      landed: (later: Effect.Effect<void> | undefined) => void
    ): void => {
      if (thread.crashed !== undefined) {
        // it died before this chunk was sent (idle, or while another call waited): none began
        const never = diedBefore(thread.crashed)
        for (let i = 0; i < requests.length; i++) onExit(i, Exit.fail(never))
        return landed(undefined)
      }
      thread.chunks = true
      let later: Array<Effect.Effect<void>> | undefined
      let remaining = 1
      const settled = () => {
        if (--remaining === 0) landed(later === undefined ? undefined : Effect.all(later, { discard: true }))
      }
      const settle = (i: number, id: number, replyDecoders: ReplyDecoders, reply: Reply | WorkerCrashed) => {
        thread.inChunks.delete(id)
        const decoded = decode(replyDecoders, reply)
        if (Exit.isExit(decoded)) onExit(i, decoded)
        else (later ??= []).push(Effect.flatMap(Effect.exit(decoded), (exit) => Effect.sync(() => onExit(i, exit))))
        settled()
      }
      for (let i = 0; i < requests.length; i++) {
        const encoded = encodings[i]!
        if (Exit.isFailure(encoded)) {
          onExit(i, encoded)
          continue
        }
        const [payload, transfers] = encoded.value
        const replyDecoders = decodersOf(requests[i]!, payload)
        if (Either.isLeft(replyDecoders)) {
          onExit(i, replyDecoders.left)
          continue
        }
        const id = thread.nextId++
        remaining++
        thread.pending.set(id, (reply) => settle(i, id, replyDecoders.right, reply))
        thread.inChunks.set(id, () => {
          thread.inChunks.delete(id)
          onExit(i, Exit.fail(interruptedUnstarted))
        })
        thread.outbox.add([id, payload], transfers)
      }
      // the one held while registering: a chunk whose every request failed here has landed
      settled()
    }

    // Sending returns the effect that waits for the chunk, so a worker can send its next chunk
    // before it waits (two in flight).
    const sendChunk = (
      thread: Thread,
      requests: ReadonlyArray<A>,
      encodings: ReadonlyArray<Exit.Exit<Encoded, ParseResult.ParseError>>,
      onExit: ChunkExit
    ): Effect.Effect<void> => {
      let result: Effect.Effect<void> | undefined
      let resume: ((effect: Effect.Effect<void>) => void) | undefined
      register(thread, requests, encodings, onExit, (later) => {
        result = later ?? Effect.void
        resume?.(result)
      })
      return Effect.async<void>((resume_) => {
        if (result !== undefined) return resume_(result)
        resume = resume_
        return interruptChunks(thread)
      })
    }

    const executeChunk: ChunkRunner<A>["run"] = (requests, onExit) =>
      Effect.suspend(() => {
        const encodings = requests.map(encode)
        // a Schema that encodes asynchronously: its encodings run first, in this fiber
        const encoded = encodings.every(Exit.isExit)
          ? Effect.succeed(encodings as ReadonlyArray<Exit.Exit<Encoded, ParseResult.ParseError>>)
          : Effect.all(encodings.map((encoding) => Effect.exit(encoding)))
        return Effect.flatMap(encoded, (encodings) =>
          ready !== undefined
            ? Effect.succeed(sendChunk(ready, requests, encodings, onExit))
            : Effect.matchEffect(currentThread, {
              // the replacement thread did not start: none of these reached a thread
              onFailure: (crashed) =>
                Effect.sync(() => {
                  const never = diedBefore(crashed)
                  requests.forEach((_, i) => onExit(i, Exit.fail(never)))
                  return Effect.void
                }),
              onSuccess: (thread) => Effect.sync(() => sendChunk(thread, requests, encodings, onExit))
            }))
      })

    const sendNow: ChunkRunner<A>["now"] = (requests, onExit, launch, landed) => {
      const thread = ready
      if (thread === undefined || thread.crashed !== undefined) return undefined
      let encodings: ReadonlyArray<ReturnType<typeof encode>>
      try {
        encodings = requests.map(encode)
      } catch {
        // a transformation that throws: `executeChunk` runs it again inside its effect, where
        // the throw is a defect the worker hands its tasks back on
        return undefined
      }
      if (!encodings.every(Exit.isExit)) return undefined
      launch()
      register(thread, requests, encodings as ReadonlyArray<Exit.Exit<Encoded, ParseResult.ParseError>>, onExit, landed)
      return interruptChunks(thread)
    }

    const client: Client<A> & { readonly [ChunkedResource]: ChunkRunner<A> } = {
      execute: (request) => Effect.suspend(() => andThen(encode(request), (encoded) => send(request, encoded))),
      threadId: Effect.map(currentThread, (thread) => thread.threadId),
      [ChunkedResource]: {
        run: executeChunk,
        now: sendNow,
        dead: () =>
          ready?.crashed !== undefined
            ? diedBefore(ready.crashed)
            : replacementFailed === undefined
            ? undefined
            : diedBefore(replacementFailed)
      }
    }
    return client
  })

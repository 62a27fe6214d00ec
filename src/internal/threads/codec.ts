/**
 * Encoding shared by both sides of a thread: Schema encoders run synchronously in a runtime
 * that holds one `Transferable` collector, built once per request type.
 *
 * @internal
 */
import * as Transferable from "@effect/platform/Transferable"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as ParseResult from "effect/ParseResult"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/** A payload and the transferables its Schema marked. @internal */
export type Encoded = readonly [payload: unknown, transfers: ReadonlyArray<unknown>]

/**
 * A Schema's encoder that runs synchronously, returning an `Exit`.
 *
 * `Schema.encode` answers with an `Either` whenever the encoding ran without an effect —
 * keywords, structs, unions, and Schema classes (a `TaggedRequest` passes its own instances
 * through its declaration, then encodes its fields) — and with an unrun Effect only when a
 * transformation returned one. Only such an effect can report to a `Transferable` collector,
 * so an `Either` carries no transferables and needs no fiber: ~1 µs a call while the code is
 * cold, where a fiber per call costs ~20 µs cold (~1 µs warm). An effect runs in the runtime
 * below, which holds one `Transferable` collector (a few hundred ns warm, where providing a
 * collector to the calling fiber costs several µs per message); one that encodes
 * asynchronously falls back to an Effect that runs in the caller's fiber.
 *
 * @internal
 */
export const encoder = <A, I>(
  schema: Schema.Schema<A, I>
): (value: A) => Exit.Exit<Encoded, ParseResult.ParseError> | Effect.Effect<Encoded, ParseResult.ParseError> => {
  const encode = Schema.encode(schema)
  const collector = Transferable.unsafeMakeCollector()
  const runSync = Runtime.runSyncExit(Runtime.make({
    context: Context.make(Transferable.Collector, collector),
    fiberRefs: Runtime.defaultRuntime.fiberRefs,
    runtimeFlags: Runtime.defaultRuntime.runtimeFlags
  }))
  const inFiber = (
    encoding: Effect.Effect<I, ParseResult.ParseError>
  ): Effect.Effect<Encoded, ParseResult.ParseError> =>
    Effect.suspend(() => {
      const own = Transferable.unsafeMakeCollector()
      return encoding.pipe(
        Effect.provideService(Transferable.Collector, own),
        Effect.map((payload) => [payload, own.unsafeRead()] as const)
      )
    })
  return (value) => {
    const encoding = encode(value)
    if (Either.isEither(encoding)) {
      const either = encoding as Either.Either<I, ParseResult.ParseError>
      return Either.isRight(either) ? Exit.succeed([either.right, NONE] as const) : Exit.fail(either.left)
    }
    collector.unsafeClear()
    const exit = runSync(encoding)
    if (Exit.isSuccess(exit)) return Exit.succeed([exit.value, collector.unsafeClear()] as const)
    const defect = Cause.dieOption(exit.cause)
    if (defect._tag === "Some" && Runtime.isAsyncFiberException(defect.value)) {
      defect.value.fiber.unsafeInterruptAsFork(FiberId.none)
      // an unrun effect again: the interrupted run left nothing behind in it
      return inFiber(encode(value) as Effect.Effect<I, ParseResult.ParseError>)
    }
    return exit as Exit.Exit<never, ParseResult.ParseError>
  }
}

/** No transferables: shared, never written to. */
const NONE: ReadonlyArray<unknown> = []

/**
 * Memoizes `make` by the request's `_tag` (one request class per tag).
 *
 * @internal
 */
export const byTag = <A>(make: (request: { readonly _tag: string }) => A) => {
  const cache = new Map<string, A>()
  return (request: { readonly _tag: string }): A => {
    let value = cache.get(request._tag)
    if (value === undefined) {
      value = make(request)
      cache.set(request._tag, value)
    }
    return value
  }
}

/**
 * Runs `f` on an encoding's result, synchronously when the encoding was synchronous.
 *
 * @internal
 */
export const andThen = <A, E, R>(
  encoded: Exit.Exit<Encoded, ParseResult.ParseError> | Effect.Effect<Encoded, ParseResult.ParseError>,
  f: (encoded: Encoded) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ParseResult.ParseError, R> =>
  Exit.isExit(encoded)
    ? Exit.isSuccess(encoded) ? f(encoded.value) : encoded as Exit.Exit<never, ParseResult.ParseError>
    : Effect.flatMap(encoded, f)

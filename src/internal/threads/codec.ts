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
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as ParseResult from "effect/ParseResult"
import * as Runtime from "effect/Runtime"

/** A payload and the transferables its Schema marked. @internal */
export type Encoded = readonly [payload: unknown, transfers: ReadonlyArray<unknown>]

/**
 * Wraps a Schema encoder so that it runs synchronously with a shared collector (a few hundred
 * ns, where providing a collector to the calling fiber costs several µs per message). A Schema
 * that encodes asynchronously falls back to an Effect that runs in the caller's fiber.
 *
 * @internal
 */
export const encoder = <A>(encode: (value: A) => Effect.Effect<unknown, ParseResult.ParseError>) => {
  const collector = Transferable.unsafeMakeCollector()
  const runSync = Runtime.runSyncExit(Runtime.make({
    context: Context.make(Transferable.Collector, collector),
    fiberRefs: Runtime.defaultRuntime.fiberRefs,
    runtimeFlags: Runtime.defaultRuntime.runtimeFlags
  }))
  const inFiber = (value: A): Effect.Effect<Encoded, ParseResult.ParseError> =>
    Effect.suspend(() => {
      const own = Transferable.unsafeMakeCollector()
      return encode(value).pipe(
        Effect.provideService(Transferable.Collector, own),
        Effect.map((payload) => [payload, own.unsafeRead()] as const)
      )
    })
  return (value: A): Exit.Exit<Encoded, ParseResult.ParseError> | Effect.Effect<Encoded, ParseResult.ParseError> => {
    collector.unsafeClear()
    const exit = runSync(encode(value))
    if (Exit.isSuccess(exit)) return Exit.succeed([exit.value, collector.unsafeClear()] as const)
    const defect = Cause.dieOption(exit.cause)
    if (defect._tag === "Some" && Runtime.isAsyncFiberException(defect.value)) {
      defect.value.fiber.unsafeInterruptAsFork(FiberId.none)
      return inFiber(value)
    }
    return exit as Exit.Exit<never, ParseResult.ParseError>
  }
}

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

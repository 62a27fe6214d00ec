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
import type * as SchemaAST from "effect/SchemaAST"

/** A payload and the transferables its Schema marked. @internal */
export type Encoded = readonly [payload: unknown, transfers: ReadonlyArray<unknown>]

/**
 * A Schema whose encoding cannot run an effect: keywords, literals, enums, template literals,
 * and structs, tuples, unions and refinements of them. Only a transformation or a declaration
 * can run one (a `Transferable` field is a transformation that reports to the collector), so
 * such a Schema encodes as an `Either`, with no transferables and no fiber.
 */
const isPure = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "Transformation":
    case "Declaration":
    case "Suspend":
      return false
    case "Refinement":
      return isPure(ast.from)
    case "Union":
      return ast.types.every(isPure)
    case "TupleType":
      return ast.elements.every((element) => isPure(element.type)) && ast.rest.every((rest) => isPure(rest.type))
    case "TypeLiteral":
      return ast.propertySignatures.every((property) => isPure(property.type)) &&
        ast.indexSignatures.every((index) => isPure(index.type))
    default:
      return true
  }
}

/**
 * A Schema's encoder that runs synchronously, returning an `Exit`. A pure Schema (`isPure`:
 * a reply of `Schema.Number`, a struct of strings) encodes as an `Either`: ~1 µs a call while
 * the code is cold, where the collector's runtime below starts a fiber per call (~20 µs cold,
 * ~1 µs warm). Any other Schema runs in that runtime, which holds one `Transferable` collector
 * (a few hundred ns warm, where providing a collector to the calling fiber costs several µs
 * per message); one that encodes asynchronously falls back to an Effect that runs in the
 * caller's fiber.
 *
 * @internal
 */
export const encoder = <A, I>(
  schema: Schema.Schema<A, I>
): (value: A) => Exit.Exit<Encoded, ParseResult.ParseError> | Effect.Effect<Encoded, ParseResult.ParseError> => {
  if (isPure(schema.ast)) {
    const encodeEither = Schema.encodeEither(schema)
    return (value) => {
      const encoded = encodeEither(value)
      return Either.isRight(encoded) ? Exit.succeed([encoded.right, NONE] as const) : Exit.fail(encoded.left)
    }
  }
  const encode = Schema.encode(schema)
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
  return (value) => {
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

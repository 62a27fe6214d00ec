/**
 * What a handler returned, as the Effect it must be. A handler that returns something else (an
 * `async` function's Promise, `undefined` from a forgotten `return`) would die inside the
 * runtime with "Not a valid effect: {}" or "Cannot read properties of undefined (reading
 * '_op')"; this says what was wrong and how to fix it, as the task's defect.
 *
 * Cost: a property check per call (a few ns).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"

const describe = (value: unknown): string =>
  value === null || value === undefined
    ? String(value) + " (a missing `return`?)"
    : Predicate.isPromiseLike(value)
    ? "a Promise (an async function? wrap the call: Effect.promise(() => ...))"
    : typeof value === "object"
    ? "an object that is not an Effect"
    : `a ${typeof value}`

/**
 * The check inline rather than `Effect.isEffect` (its `dual`/`hasProperty` calls measured ~80 ns
 * a task, 11% of a sync task's cost); a function can be an Effect too (a `Context.Tag` class).
 *
 * @internal
 */
export const effectOf = <A, E, R>(value: Effect.Effect<A, E, R>, who: string): Effect.Effect<A, E, R> =>
  ((typeof value === "object" && value !== null) || typeof value === "function") && Effect.EffectTypeId in value
    ? value
    : Effect.die(new TypeError(`${who} must return an Effect, got ${describe(value)}`))

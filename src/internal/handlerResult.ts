/**
 * What a handler returned, as the Effect it must be. A handler that returns something else (an
 * `async` function's Promise, `undefined` from a forgotten `return`) would die inside the
 * runtime with "Not a valid effect: {}" or "Cannot read properties of undefined (reading
 * '_op')"; this says what was wrong and how to fix it, as the task's defect.
 *
 * Cost: two comparisons and an `instanceof` per call.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

const describe = (value: unknown): string =>
  value instanceof Promise
    ? "a Promise (an async function? wrap the call: Effect.promise(() => ...))"
    : `${String(value)} (a missing \`return\`?)`

/**
 * `tag`: the request a thread's handler serves (the message is built only on a mistake).
 * Only the two mistakes that happen (a Promise from an `async` handler, `undefined` from a
 * missing `return`) are caught here, by checks that read no property: a full `Effect.isEffect`
 * measured ~10% of a sync task's cost. Anything else that is no Effect still dies in the
 * runtime ("Not a valid effect: 42").
 *
 * @internal
 */
export const effectOf = <A, E, R>(value: Effect.Effect<A, E, R>, tag?: string): Effect.Effect<A, E, R> =>
  value === undefined || value === null || value instanceof Promise
    ? Effect.die(
      new TypeError(
        `${tag === undefined ? "handler" : `the handler of ${tag}`} must return an Effect, got ${describe(value)}`
      )
    )
    : value

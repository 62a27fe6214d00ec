/**
 * The trivial task of scenario 1, in the two shapes the alternatives accept: an Effect handler
 * for Effect-based runners, a plain function for the promise libraries (what their users write).
 */
import * as Effect from "effect/Effect"

export type Variant = "sync" | "async"

export const parseVariant = (s: string | undefined): Variant => s === "async" ? "async" : "sync"

/** `Effect.sync(() => x * 2)`, or `Effect.promise(() => Promise.resolve(x * 2))` for async. */
export const effectHandler = (variant: Variant): (x: number) => Effect.Effect<number> =>
  variant === "sync"
    ? (x) => Effect.sync(() => x * 2)
    : (x) => Effect.promise(() => Promise.resolve(x * 2))

/** The same work as a plain function: a value for sync, a resolved promise for async. */
export const plainHandler = (variant: Variant): (x: number) => number | Promise<number> =>
  variant === "sync" ? (x) => x * 2 : (x) => Promise.resolve(x * 2)

/** Always a promise: fastq's promise API requires its worker to return one. */
export const promiseHandler = (x: number): Promise<number> => Promise.resolve(x * 2)

/** Sum of 2x over 0..n-1, the fold every alternative must reproduce. */
export const expectedSum = (n: number): number => n * (n - 1)

export const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

export const sum = (xs: ReadonlyArray<number>): number => {
  let s = 0
  for (const x of xs) s += x
  return s
}

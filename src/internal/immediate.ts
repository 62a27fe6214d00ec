/**
 * Running an effect that is already a value or a synchronous thunk without a trip through the
 * fiber run loop.
 *
 * A sync handler (`(x) => Effect.sync(() => f(x))` or `Effect.succeed(y)`) is one primitive
 * op. Handed to the run loop, it costs a continuation frame, the op dispatch and the frame's
 * pop — about a third of a sync task's whole cost in a worker (measured: `run` of 1M sync tasks
 * on 8 workers, 0.66 → see the commit). Such an op cannot suspend, be interrupted halfway or
 * read the fiber, so evaluating it in place is what the run loop would do, minus the dispatch:
 * a throw is a defect (an `InterruptedException` also an interruption), as in the run loop.
 *
 * Effect-version-specific: it reads effect 3's primitive encoding (`_op`,
 * `effect_instruction_i0`). Effect 4 changes that encoding; a port replaces this file (or
 * makes `evaluate` always return `NOT_IMMEDIATE`, which is always correct, only slower).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"

/** `Workers.runInPlace`'s answer when the task went to a parked worker as its next chunk. */
export const HANDED: unique symbol = Symbol.for("effect-supervisor/Handed")

/** `evaluate`'s answer when the effect needs the run loop. */
export const NOT_IMMEDIATE: unique symbol = Symbol.for("effect-supervisor/NotImmediate")

interface Primitive {
  readonly _op?: unknown
  readonly effect_instruction_i0?: unknown
}

/**
 * The value of `effect` if it is a `succeed` or a `sync` (running its thunk now), else
 * `NOT_IMMEDIATE` (nothing ran). A thunk that throws throws here: see `thrown`.
 */
export const evaluate = <A>(effect: Effect.Effect<A, unknown, unknown>): A | typeof NOT_IMMEDIATE => {
  const op = (effect as Primitive)._op
  if (op === "Sync") return (effect as unknown as { readonly effect_instruction_i0: () => A }).effect_instruction_i0()
  if (op === "Success") return (effect as Primitive).effect_instruction_i0 as A
  return NOT_IMMEDIATE
}

/**
 * `effect` as the Exit the run loop would give it, when it is a `succeed` or a `sync` (its
 * thunk runs now, a throw is its defect); undefined when it needs the run loop.
 */
export const exitOf = <A>(effect: Effect.Effect<A, unknown, unknown>): Exit.Exit<A, unknown> | undefined => {
  let value: A | typeof NOT_IMMEDIATE
  try {
    value = evaluate(effect)
  } catch (error) {
    return Exit.failCause(thrown(error))
  }
  return value === NOT_IMMEDIATE ? undefined : Exit.succeed(value)
}

/** The cause the run loop gives a thunk that threw. */
export const thrown = (error: unknown): Cause.Cause<never> =>
  Cause.isInterruptedException(error)
    ? Cause.sequential(Cause.die(error), Cause.interrupt(FiberId.none))
    : Cause.die(error)

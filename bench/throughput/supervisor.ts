/**
 * Scenario 1 through effect-supervisor: the paths a user has to get N results out of it.
 * Loaded with a dynamic import by `run.ts`, so the anchors still run while the core is missing.
 */
import * as Effect from "effect/Effect"
import * as Supervisor from "../../src/Supervisor.js"
import type { Runner } from "./anchors.js"
import { CONCURRENCY } from "./anchors.js"
import type { Variant } from "./handlers.js"
import { effectHandler, sum } from "./handlers.js"

const optionsFor = (variant: Variant) => ({
  workers: CONCURRENCY,
  handler: effectHandler(variant),
  initial: 0,
  combine: (s: number, a: number) => s + a
})

/** The `submit` path: one `submit` per task (default capacity 1024), then `awaitIdle` and the fold. */
export const submitLoop = (variant: Variant): Runner => (items) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sup = yield* Supervisor.make(optionsFor(variant))
    yield* Effect.forEach(items, (x) => sup.submit(x), { discard: true })
    yield* sup.awaitIdle
    return yield* sup.state
  })))

/** `submitAll(items)`: the batched admission the design adds for producers that have many tasks. */
export const submitAll = (variant: Variant): Runner => (items) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sup = yield* Supervisor.make(optionsFor(variant))
    yield* sup.submitAll(items)
    yield* sup.awaitIdle
    return yield* sup.state
  })))

/**
 * The `execute` path: every task awaits its own result. Callers run with
 * `Effect.forEach(items, execute, { concurrency })` — `concurrency` callers in flight.
 */
export const execute = (variant: Variant, callers: number | "unbounded"): Runner => (items) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sup = yield* Supervisor.make({ workers: CONCURRENCY, handler: effectHandler(variant) })
    return sum(yield* Effect.forEach(items, (x) => sup.execute(x), { concurrency: callers }))
  })))

/** `Supervisor.run(items, options)`: the one-shot form; the fold is in `Summary.state`. */
export const run = (variant: Variant): Runner => (items) =>
  Effect.runPromise(Supervisor.run(items, optionsFor(variant)).pipe(Effect.map((summary) => summary.state)))

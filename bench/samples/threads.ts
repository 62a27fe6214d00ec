/**
 * Thread-pool alternatives on 2 threads, one per sample process. Each pool starts (untimed),
 * runs an untimed warm-up batch, then the timed batch: every task submitted at once, the sum of
 * the results checked. CPU time covers every thread of the process; RSS is the process's peak.
 * Every thread runs a plain .mjs file (no TypeScript loader in any thread).
 *
 * Params: kind ("echo" | "fib"), n (tasks), x (fib's argument), warm (warm-up tasks), threads.
 */
import { Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Piscina } from "piscina"
import type { Params } from "../lib/sample.js"
import { expectEqual, main, num, str, timed } from "../lib/sample.js"
import { Echo, Fib, Request } from "./protocol.js"
import { perform } from "./tasks.mjs"

type Kind = "echo" | "fib"

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

interface Pool {
  readonly runAll: (kind: Kind, xs: ReadonlyArray<number>) => Promise<number>
  readonly close: () => Promise<void>
}

const kindOf = (params: Params): Kind => {
  const kind = str(params, "kind")
  if (kind !== "echo" && kind !== "fib") throw new Error(`kind: echo | fib, got ${kind}`)
  return kind
}

/** Echo tasks are 0..n-1; fib tasks are n × fib(x). */
const tasksOf = (kind: Kind, n: number, x: number): Array<number> =>
  Array.from({ length: n }, (_, i) => (kind === "echo" ? i : x))

/** Every fib task is the same, so fib(x) is computed once, not n times on the main thread. */
const expected = (kind: Kind, xs: ReadonlyArray<number>): number =>
  kind === "echo" ? sum(xs) : xs.length === 0 ? 0 : xs.length * perform(kind, xs[0]!)

const measurePool = (name: string, startPool: (threads: number) => Promise<Pool>) => async (params: Params) => {
  const kind = kindOf(params)
  const x = kind === "fib" ? num(params, "x") : 0
  const pool = await startPool(num(params, "threads"))
  const warm = tasksOf(kind, num(params, "warm"), x)
  expectEqual(`${name} (warm-up)`, await pool.runAll(kind, warm), expected(kind, warm))
  const xs = tasksOf(kind, num(params, "n"), x)
  let total = 0
  const sample = await timed(async () => {
    total = await pool.runAll(kind, xs)
  })
  expectEqual(name, total, expected(kind, xs))
  await pool.close()
  return sample
}

const piscina = async (threads: number): Promise<Pool> => {
  const pool = new Piscina({
    filename: new URL("./piscina-worker.mjs", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads
  })
  return {
    runAll: async (kind, xs) => sum(await Promise.all(xs.map((x) => pool.run({ kind, x }) as Promise<number>))),
    close: () => pool.destroy()
  }
}

/**
 * effect-supervisor: one worker per thread (`Threads.offload`), the batch handed over with
 * `submitAll`, results folded into the state (sum) and read after `awaitIdle`.
 */
const supervisor = async (threads: number): Promise<Pool> => {
  const scope = Effect.runSync(Scope.make())
  const sup = await Effect.runPromise(
    Supervisor.make({
      workers: threads,
      ...Threads.offload({ file: new URL("./supervisor-worker.mjs", import.meta.url), schema: Request }),
      initial: 0,
      combine: (s: number, a: number) => s + a
    }).pipe(Scope.extend(scope))
  )
  return {
    runAll: (kind, xs) =>
      Effect.runPromise(Effect.gen(function*() {
        const before = yield* sup.state
        yield* sup.submitAll(xs.map((x) => (kind === "echo" ? new Echo({ x }) : new Fib({ x }))))
        yield* sup.awaitIdle
        const stats = yield* sup.stats
        if (stats.failed + stats.defects + stats.interrupted > 0) {
          return yield* Effect.die(new Error(`thread tasks did not succeed: ${JSON.stringify(stats)}`))
        }
        return (yield* sup.state) - before
      })),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

await main({
  piscina: measurePool("piscina", piscina),
  "supervisor Threads": measurePool("supervisor Threads", supervisor)
})

/**
 * effect-supervisor on 2 threads: `Threads.offload` (one thread per worker), tasks handed over
 * with `submitAll`, results folded into the supervisor's state (sum) and read after `awaitIdle`.
 * The supervisor lives across rounds, like the other pools; each run reads the fold's growth.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Supervisor from "../../src/Supervisor.js"
import * as Threads from "../../src/Threads.js"
import { Echo, Fib, Request } from "./protocol.js"
import type { ThreadAlt } from "./types.js"
import { THREADS, workerUrl } from "./types.js"

export const supervisorThreads = async (): Promise<ThreadAlt> => {
  const scope = Effect.runSync(Scope.make())
  const sup = await Effect.runPromise(
    Supervisor.make({
      workers: THREADS,
      ...Threads.offload({ file: workerUrl("supervisor-worker.ts"), schema: Request }),
      initial: 0,
      combine: (s: number, a: number) => s + a
    }).pipe(Scope.extend(scope))
  )
  const alt: ThreadAlt = {
    name: "supervisor Threads",
    runAll: (kind, xs) =>
      Effect.runPromise(Effect.gen(function*() {
        const before = yield* sup.state
        yield* sup.submitAll(xs.map((x) => kind === "echo" ? new Echo({ x }) : new Fib({ x })))
        yield* sup.awaitIdle
        const stats = yield* sup.stats
        if (stats.failed + stats.defects > 0) return yield* Effect.die(new Error("a thread task failed"))
        return (yield* sup.state) - before
      })),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
  // A thread that cannot start would make every round wait on restarts: probe once, bounded,
  // so run.ts can report the variant as skipped instead of failing the whole family.
  await Effect.runPromise(Effect.promise(() => alt.runAll("echo", [1])).pipe(Effect.timeout("60 seconds")))
    .catch(async (e) => {
      await alt.close()
      throw e
    })
  return alt
}

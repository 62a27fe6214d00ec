/**
 * @effect/platform `Worker.makePoolSerialized` on 2 threads (NodeWorker), one request per task.
 * Callers: `Effect.forEach` with 2 × threads in flight — not all at once, because the pool's
 * Semaphore wakes every waiter on each release (see EFFECT-NOTES), which would measure that
 * pathology rather than the transport.
 */
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Worker from "@effect/platform/Worker"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Worker as NodeThread } from "node:worker_threads"
import { Echo, Fib, type Request } from "./protocol.js"
import type { ThreadAlt } from "./types.js"
import { THREADS, workerUrl } from "./types.js"

export const platformPool = async (): Promise<ThreadAlt> => {
  const scope = Effect.runSync(Scope.make())
  const entry = workerUrl("ts-entry.mjs")
  const worker = workerUrl("platform-worker.ts").href
  const pool = await Effect.runPromise(
    Worker.makePoolSerialized<Request>({ size: THREADS }).pipe(
      Effect.provide(NodeWorker.layer(() => new NodeThread(entry, { workerData: { entry: worker } }))),
      Scope.extend(scope)
    )
  )
  return {
    name: "platform makePoolSerialized",
    runAll: (kind, xs) =>
      Effect.runPromise(
        Effect.forEach(xs, (x) => pool.executeEffect(kind === "echo" ? new Echo({ x }) : new Fib({ x })), {
          concurrency: 2 * THREADS
        }).pipe(Effect.map((vs) => vs.reduce((a, b) => a + b, 0)))
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

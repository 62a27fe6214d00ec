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
import { isCompiled } from "../lib/paths.js"
import { Echo, Fib, type Request } from "./protocol.js"
import type { ThreadAlt } from "./types.js"
import { THREADS, workerUrl } from "./types.js"

export const platformPool = async (): Promise<ThreadAlt> => {
  const scope = Effect.runSync(Scope.make())
  // Compiled, the worker is plain JS; from source it needs the tsx entry (see ts-entry.mjs).
  const worker = workerUrl("platform-worker.ts")
  const spawn = isCompiled(worker.href)
    ? () => new NodeThread(worker)
    : () => new NodeThread(workerUrl("ts-entry.mjs"), { workerData: { entry: worker.href } })
  const pool = await Effect.runPromise(
    Worker.makePoolSerialized<Request>({ size: THREADS }).pipe(
      Effect.provide(NodeWorker.layer(spawn)),
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

// The entry of a worker thread whose file is TypeScript: registers tsx (an optional peer
// dependency of effect-supervisor) in this thread, then loads the file. Node 20 refuses
// `--import tsx` in a Worker's execArgv, so this is how a .ts worker file runs unchanged under
// tsx, vitest and compiled JS alike.
import { workerData } from "node:worker_threads"

const entry = workerData.effectSupervisorEntry
// Load the thread runtime's dependencies before tsx's hooks are registered: under the hooks
// every module costs a round trip to tsx's loader thread (~1 s for effect's graph here); once
// loaded, the worker file's imports of them are cache hits. The list is what runner.ts and
// its imports load; a missing one only costs that time back.
await Promise.all(
  [
    "effect/Effect",
    "effect/Schema",
    "effect/Layer",
    "@effect/platform/WorkerRunner",
    "@effect/platform-node/NodeRuntime",
    "@effect/platform-node/NodeWorkerRunner"
  ].map((module) => import(module).catch(() => undefined))
)
let api
try {
  api = await import("tsx/esm/api")
} catch (cause) {
  throw new Error(
    `${entry} is a TypeScript file: install tsx (an optional peer dependency of effect-supervisor) to run it on a worker thread`,
    { cause }
  )
}
api.register()
await import(entry)

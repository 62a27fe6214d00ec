// The entry of a worker thread whose file is TypeScript: registers tsx (an optional peer
// dependency of effect-supervisor) in this thread, then loads the file. Node 20 refuses
// `--import tsx` in a Worker's execArgv, so this is how a .ts worker file runs unchanged under
// tsx, vitest and compiled JS alike.
import { workerData } from "node:worker_threads"

const entry = workerData.effectSupervisorEntry
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

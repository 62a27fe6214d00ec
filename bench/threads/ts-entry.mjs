// Thread entry for TypeScript workers: Node 20 threads cannot use `--import tsx` in execArgv,
// so register tsx's ESM loader here and then import the .ts file named in workerData.entry.
import { register } from "tsx/esm/api"
import { workerData } from "node:worker_threads"

register()
await import(workerData.entry)

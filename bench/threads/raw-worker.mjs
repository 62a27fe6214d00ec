// Raw worker_threads baseline: [id, kind, x] in, [id, result] out, nothing else.
import { parentPort } from "node:worker_threads"
import { perform } from "./tasks.mjs"

parentPort.on("message", ([id, kind, x]) => parentPort.postMessage([id, perform(kind, x)]))

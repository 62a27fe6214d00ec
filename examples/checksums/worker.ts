// The checksums worker thread: this one call is the whole file.
import { Effect } from "effect"
import { ThreadRunner } from "effect-supervisor/threads"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { HashFile, ReadFailed } from "./requests.js"

const sha256 = async (path: string, signal: AbortSignal) => {
  const hash = createHash("sha256")
  let bytes = 0
  for await (const chunk of createReadStream(path, { signal })) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { hex: hash.digest("hex"), bytes }
}

ThreadRunner.serve(HashFile, {
  HashFile: ({ path }) =>
    Effect.tryPromise({
      try: (signal) => sha256(path, signal),
      catch: (error) => new ReadFailed({ path, message: error instanceof Error ? error.message : String(error) })
    })
})

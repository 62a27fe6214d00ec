// The checksums worker thread: this one call is the whole file.
import { Effect } from "effect"
import { ThreadRunner } from "effect-supervisor/threads"
import { createHash } from "node:crypto"
import { open } from "node:fs/promises"
import { HashFiles } from "./requests.js"

/** Files up to this size are read in one call; larger ones are streamed (bounded memory). */
const WHOLE_FILE_LIMIT = 4 * 1024 * 1024
/**
 * Files of a chunk read at once: each read waits on the file system (libuv's pool), so a few
 * in flight keep this thread hashing instead of waiting.
 */
const READS_IN_FLIGHT = 4

const sha256 = async (path: string, signal: AbortSignal) => {
  const hash = createHash("sha256")
  const file = await open(path)
  try {
    const { size } = await file.stat()
    if (size <= WHOLE_FILE_LIMIT) {
      // one read instead of a stream's chunks and async iteration: most files are small
      const bytes = await file.readFile({ signal })
      return { _tag: "Hashed", path, hex: hash.update(bytes).digest("hex"), bytes: bytes.length } as const
    }
    let bytes = 0
    for await (const chunk of file.createReadStream({ signal, autoClose: false })) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
    }
    return { _tag: "Hashed", path, hex: hash.digest("hex"), bytes } as const
  } finally {
    await file.close()
  }
}

const hashOne = (path: string, signal: AbortSignal) =>
  sha256(path, signal).catch((error) => {
    if (signal.aborted) throw error
    return { _tag: "Unreadable", path, message: error instanceof Error ? error.message : String(error) } as const
  })

ThreadRunner.serve(HashFiles, {
  HashFiles: ({ paths }) =>
    Effect.promise((signal) => {
      const results = new Array<Awaited<ReturnType<typeof hashOne>>>(paths.length)
      let next = 0
      const lane = async (): Promise<void> => {
        while (next < paths.length && !signal.aborted) {
          const index = next++
          results[index] = await hashOne(paths[index]!, signal)
        }
      }
      return Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, paths.length) }, lane)).then(() => results)
    })
})

// The checksums worker thread: this one call is the whole file.
import { ThreadRunner } from "effect-supervisor/threads"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import { setImmediate } from "node:timers/promises"
import { HashFiles } from "./requests.js"

/**
 * Reads are synchronous: this thread does nothing else while it hashes, and a page-cached
 * file read in place (open, stat, read, close) costs ~80 µs here, where the same as promises
 * pays four trips through libuv's pool and a promise each.
 * One buffer per thread, reused: memory stays bounded whatever the file sizes.
 */
const buffer = Buffer.allocUnsafe(1024 * 1024)
/**
 * After about this many bytes the thread yields to its event loop, so an interrupt (Ctrl-C)
 * is seen within a few milliseconds instead of after the whole chunk.
 */
const YIELD_EVERY = 8 * 1024 * 1024

type Result =
  | { readonly _tag: "Hashed"; readonly path: string; readonly hex: string; readonly bytes: number }
  | { readonly _tag: "Unreadable"; readonly path: string; readonly message: string }

const hashOne = (path: string): Result => {
  let fd: number
  try {
    fd = openSync(path, "r")
  } catch (error) {
    return { _tag: "Unreadable", path, message: error instanceof Error ? error.message : String(error) }
  }
  try {
    if (!fstatSync(fd).isFile()) return { _tag: "Unreadable", path, message: "not a regular file" }
    const hash = createHash("sha256")
    let bytes = 0
    for (let n: number; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      hash.update(buffer.subarray(0, n))
      bytes += n
    }
    return { _tag: "Hashed", path, hex: hash.digest("hex"), bytes }
  } catch (error) {
    return { _tag: "Unreadable", path, message: error instanceof Error ? error.message : String(error) }
  } finally {
    closeSync(fd)
  }
}

ThreadRunner.serve(HashFiles, {
  HashFiles: ({ paths }) =>
    Effect.promise(async (signal) => {
      const results: Array<Result> = []
      let sinceYield = 0
      for (const path of paths) {
        if (signal.aborted) break
        const result = hashOne(path)
        results.push(result)
        if (result._tag === "Hashed" && (sinceYield += result.bytes) >= YIELD_EVERY) {
          sinceYield = 0
          await setImmediate()
        }
      }
      return results
    })
})

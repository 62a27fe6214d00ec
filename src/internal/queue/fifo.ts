/**
 * First in, first out; workers claim chunks. The default queue.
 *
 * Cost: a push is an array push; a take is one `slice` of up to `maxChunk` entries; a cancel
 * marks the entry and sweeps the array once cancelled entries outnumber live ones.
 *
 * @internal
 */
import { CLAIMED, type Entry, QUEUED, shouldSweep, type TaskQueue } from "./taskQueue.js"

/** @internal */
export const make = <T>(maxChunk: number): TaskQueue<T> => {
  let buffer: Array<Entry<T> | undefined> = []
  let head = 0
  let live = 0
  let garbage = 0

  const compact = (): void => {
    if (garbage > 0) {
      const kept: Array<Entry<T>> = []
      for (let i = head; i < buffer.length; i++) {
        const entry = buffer[i]
        if (entry !== undefined && entry.state === QUEUED) kept.push(entry)
      }
      buffer = kept
      garbage = 0
    } else if (head > 0) {
      buffer = buffer.slice(head)
    }
    head = 0
  }

  const compactIfSparse = (): void => {
    if (head > 1024 && head * 2 > buffer.length) compact()
  }

  /** skips cancelled entries at the head */
  const skip = (): void => {
    while (head < buffer.length && buffer[head]!.state !== QUEUED) {
      buffer[head++] = undefined
      garbage--
    }
  }

  return {
    maxChunk,
    get size() {
      return live
    },
    push: (entry) => {
      buffer.push(entry)
      live++
    },
    pushFront: (entries) => {
      if (entries.length === 0) return
      compact()
      for (const entry of entries) entry.state = QUEUED
      buffer = [...entries, ...(buffer as Array<Entry<T>>)]
      live += entries.length
    },
    take: (max) => {
      if (live === 0) return undefined
      if (garbage === 0) {
        // every entry from `head` on is queued: copy the chunk out and clear its slots in bulk
        // (taken entries must not stay reachable from the buffer)
        const n = live < max ? live : max
        const chunk = buffer.slice(head, head + n)
        for (let i = 0; i < n; i++) chunk[i]!.state = CLAIMED
        live -= n
        head += n
        if (head === buffer.length) {
          buffer = []
          head = 0
        } else {
          buffer.fill(undefined, head - n, head)
          compactIfSparse()
        }
        return chunk as Array<Entry<T>>
      }
      const chunk: Array<Entry<T>> = []
      while (chunk.length < max && head < buffer.length) {
        const entry = buffer[head]!
        buffer[head++] = undefined
        if (entry.state !== QUEUED) {
          garbage--
          continue
        }
        entry.state = CLAIMED
        chunk.push(entry)
      }
      live -= chunk.length
      if (head === buffer.length) {
        buffer = []
        head = 0
      } else {
        compactIfSparse()
      }
      return chunk
    },
    cancel: () => {
      live--
      garbage++
      if (shouldSweep(garbage, live)) compact()
    },
    evictOldest: () => {
      skip()
      if (head >= buffer.length) return undefined
      const entry = buffer[head]!
      buffer[head++] = undefined
      live--
      compactIfSparse()
      return entry
    },
    finished: () => false,
    drain: () => {
      const rest: Array<Entry<T>> = []
      for (let i = head; i < buffer.length; i++) {
        const entry = buffer[i]
        if (entry !== undefined && entry.state === QUEUED) rest.push(entry)
      }
      buffer = []
      head = 0
      live = 0
      garbage = 0
      return rest
    },
    heldByKeys: () => 0,
    pauseKey: () => {},
    resumeKey: () => {},
    resumeAllKeys: () => {}
  }
}

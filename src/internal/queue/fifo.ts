/**
 * First in, first out; workers claim chunks. The default queue.
 *
 * Cost: a push is an array push; a take is one `slice` of up to `maxChunk` entries; a cancel
 * marks the entry and sweeps the array once cancelled entries outnumber live ones.
 *
 * @internal
 */
import { CLAIMED, type Entry, QUEUED, shouldSweep, type TaskQueue } from "./taskQueue.js"

/**
 * A class, not an object of closures, on purpose: every supervisor has its own queue, and V8
 * specialises optimised code to the one closure a function literal has made so far, so the
 * second supervisor's closures started cold and were optimised again (with the rest of the
 * per-task path that inlines them); methods of a class share one optimised copy.
 *
 * @internal
 */
export class Fifo<T> implements TaskQueue<T> {
  private buffer: Array<Entry<T> | undefined> = []
  private head = 0
  private live = 0
  private garbage = 0

  constructor(readonly maxChunk: number) {}

  get size(): number {
    return this.live
  }

  push(entry: Entry<T>): void {
    this.buffer.push(entry)
    this.live++
  }

  pushFront(entries: ReadonlyArray<Entry<T>>): void {
    if (entries.length === 0) return
    this.compact()
    for (const entry of entries) entry.state = QUEUED
    this.buffer = [...entries, ...(this.buffer as Array<Entry<T>>)]
    this.live += entries.length
  }

  take(max: number): Array<Entry<T>> | undefined {
    if (this.live === 0) return undefined
    const buffer = this.buffer
    if (this.garbage === 0) {
      // every entry from `head` on is queued: copy the chunk out and clear its slots in bulk
      // (taken entries must not stay reachable from the buffer)
      const n = this.live < max ? this.live : max
      const head = this.head
      const chunk = buffer.slice(head, head + n)
      for (let i = 0; i < n; i++) chunk[i]!.state = CLAIMED
      this.live -= n
      this.head = head + n
      if (this.head === buffer.length) {
        this.buffer = []
        this.head = 0
      } else {
        buffer.fill(undefined, head, head + n)
        this.compactIfSparse()
      }
      return chunk as Array<Entry<T>>
    }
    const chunk: Array<Entry<T>> = []
    while (chunk.length < max && this.head < buffer.length) {
      const entry = buffer[this.head]!
      buffer[this.head++] = undefined
      if (entry.state !== QUEUED) {
        this.garbage--
        continue
      }
      entry.state = CLAIMED
      chunk.push(entry)
    }
    this.live -= chunk.length
    if (this.head === buffer.length) {
      this.buffer = []
      this.head = 0
    } else {
      this.compactIfSparse()
    }
    return chunk
  }

  cancel(): void {
    this.live--
    this.garbage++
    if (shouldSweep(this.garbage, this.live)) this.compact()
  }

  evictOldest(): Entry<T> | undefined {
    this.skip()
    const buffer = this.buffer
    let i = this.head
    while (i < buffer.length && (buffer[i]!.state !== QUEUED || buffer[i]!.started)) i++
    if (i >= buffer.length) return undefined
    const entry = buffer[i]!
    // out of the queue now (the caller records its outcome), so a sweep drops it
    entry.state = CLAIMED
    this.live--
    if (i === this.head) {
      buffer[this.head++] = undefined
      this.compactIfSparse()
    } else {
      // behind a started entry (a paused queue holds one at its head for as long as it is
      // paused): it stays in place as garbage, swept as cancelled entries are
      this.garbage++
      if (shouldSweep(this.garbage, this.live)) this.compact()
    }
    return entry
  }

  finished(): boolean {
    return false
  }

  drain(): Array<Entry<T>> {
    const rest: Array<Entry<T>> = []
    for (let i = this.head; i < this.buffer.length; i++) {
      const entry = this.buffer[i]
      if (entry !== undefined && entry.state === QUEUED) rest.push(entry)
    }
    this.buffer = []
    this.head = 0
    this.live = 0
    this.garbage = 0
    return rest
  }

  heldByKeys(): number {
    return 0
  }

  pauseKey(): void {}

  resumeKey(): void {}

  resumeAllKeys(): void {}

  private compact(): void {
    if (this.garbage > 0) {
      const kept: Array<Entry<T>> = []
      for (let i = this.head; i < this.buffer.length; i++) {
        const entry = this.buffer[i]
        if (entry !== undefined && entry.state === QUEUED) kept.push(entry)
      }
      this.buffer = kept
      this.garbage = 0
    } else if (this.head > 0) {
      this.buffer = this.buffer.slice(this.head)
    }
    this.head = 0
  }

  private compactIfSparse(): void {
    if (this.head > 1024 && this.head * 2 > this.buffer.length) this.compact()
  }

  /** skips cancelled entries at the head */
  private skip(): void {
    while (this.head < this.buffer.length && this.buffer[this.head]!.state !== QUEUED) {
      this.buffer[this.head++] = undefined
      this.garbage--
    }
  }
}

/** @internal */
export const make = <T>(maxChunk: number): TaskQueue<T> => new Fifo<T>(maxChunk)

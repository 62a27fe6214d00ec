/**
 * The keyed / priority scheduler: per-key queues served round-robin, at most `perKey` tasks
 * of one key running at once, higher priority first within a key, submission order among
 * equals, per-key pause.
 *
 * A task with no `key` option lives under the key `""`, so priority-only scheduling is one
 * priority queue. Workers claim one task at a time here (per-key limits are checked at claim
 * time). Cost: O(log n) per admission and start (a binary heap per key).
 *
 * @internal
 */
import { type Entry, QUEUED, TaskQueue } from "./taskQueue.js"

interface KeyState<T> {
  readonly key: string
  /** waiting entries, a binary heap: higher priority first, then lower seq */
  readonly heap: Array<Entry<T>>
  /** claimed or running */
  active: number
  paused: boolean
  inRing: boolean
}

const before = (a: Entry<unknown>, b: Entry<unknown>): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq)

const heapPush = <T>(heap: Array<Entry<T>>, entry: Entry<T>): void => {
  let i = heap.length
  heap.push(entry)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (!before(heap[i]!, heap[parent]!)) break
    const swap = heap[parent]!
    heap[parent] = heap[i]!
    heap[i] = swap
    i = parent
  }
}

const heapPop = <T>(heap: Array<Entry<T>>): Entry<T> => {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length > 0) {
    heap[0] = last
    let i = 0
    while (true) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < heap.length && before(heap[l]!, heap[best]!)) best = l
      if (r < heap.length && before(heap[r]!, heap[best]!)) best = r
      if (best === i) break
      const swap = heap[best]!
      heap[best] = heap[i]!
      heap[i] = swap
      i = best
    }
  }
  return top
}

/** @internal */
export class KeyedQueue<T> extends TaskQueue<T> {
  readonly maxChunk = 1
  private readonly keys = new Map<string, KeyState<T>>()
  /** keys with waiting entries, served round-robin from `cursor` */
  private ring: Array<KeyState<T>> = []
  private cursor = 0
  private waiting = 0

  constructor(capacity: number, readonly perKey: number) {
    super(capacity)
  }

  get buffered(): number {
    return this.waiting
  }

  protected enqueue(entry: Entry<T>): void {
    const state = this.state(entry.key)
    heapPush(state.heap, entry)
    this.waiting++
    if (!state.inRing) {
      state.inRing = true
      this.ring.push(state)
    }
  }

  protected enqueueFront(entries: ReadonlyArray<Entry<T>>): void {
    for (const entry of entries) {
      this.state(entry.key).active--
      this.enqueue(entry)
    }
  }

  protected takeReady(): Array<Entry<T>> | undefined {
    let visits = this.ring.length
    while (visits-- > 0 && this.ring.length > 0) {
      if (this.cursor >= this.ring.length) this.cursor = 0
      const state = this.ring[this.cursor]!
      while (state.heap.length > 0 && state.heap[0]!.state !== QUEUED) {
        heapPop(state.heap) // cancelled while waiting
        this.waiting--
      }
      if (state.heap.length === 0) {
        this.leaveRing(this.cursor)
        continue
      }
      if (state.paused || state.active >= this.perKey) {
        this.cursor++
        continue
      }
      const entry = heapPop(state.heap)
      this.waiting--
      state.active++
      if (state.heap.length === 0) this.leaveRing(this.cursor)
      else this.cursor++
      return [entry]
    }
    return undefined
  }

  protected removeOldest(): Entry<T> | undefined {
    let oldest: KeyState<T> | undefined
    let index = -1
    for (const state of this.ring) {
      for (let i = 0; i < state.heap.length; i++) {
        if (oldest === undefined || state.heap[i]!.seq < oldest.heap[index]!.seq) {
          oldest = state
          index = i
        }
      }
    }
    if (oldest === undefined) return undefined
    const [entry] = oldest.heap.splice(index, 1)
    // a sorted array is a valid heap
    oldest.heap.sort((a, b) => (before(a, b) ? -1 : 1))
    this.waiting--
    return entry
  }

  protected removeAll(): Array<Entry<T>> {
    const all: Array<Entry<T>> = []
    for (const state of this.ring) {
      all.push(...state.heap)
      state.heap.length = 0
      state.inRing = false
    }
    this.ring = []
    this.cursor = 0
    this.waiting = 0
    return all.sort((a, b) => a.seq - b.seq)
  }

  finished(entry: Entry<T>): void {
    const state = this.keys.get(entry.key)
    if (state === undefined) return
    state.active--
    if (state.heap.length > 0) this.wakeOneTaker()
    else this.forgetIfUnused(state)
  }

  heldByPause(): number {
    if (this.paused) return this.notStarted
    let held = 0
    for (const state of this.keys.values()) {
      if (state.paused) { for (const entry of state.heap) if (entry.state === QUEUED) held++ }
    }
    return held
  }

  pauseKey(key: string): void {
    this.state(key).paused = true
  }

  resumeKey(key: string): void {
    const state = this.keys.get(key)
    if (state === undefined) return
    state.paused = false
    this.forgetIfUnused(state)
    this.wakeAllTakers()
  }

  resumeAllKeys(): void {
    for (const state of [...this.keys.values()]) {
      state.paused = false
      this.forgetIfUnused(state)
    }
    this.wakeAllTakers()
  }

  private state(key: string): KeyState<T> {
    let state = this.keys.get(key)
    if (state === undefined) {
      state = { key, heap: [], active: 0, paused: false, inRing: false }
      this.keys.set(key, state)
    }
    return state
  }

  private leaveRing(index: number): void {
    const [state] = this.ring.splice(index, 1)
    state!.inRing = false
    if (this.cursor > index) this.cursor--
    this.forgetIfUnused(state!)
  }

  // keys come and go (tenants, hosts): keep no state for a key with nothing to remember
  private forgetIfUnused(state: KeyState<T>): void {
    if (state.heap.length === 0 && state.active === 0 && !state.paused && !state.inRing) this.keys.delete(state.key)
  }
}

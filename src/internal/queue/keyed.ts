/**
 * The keyed / priority scheduler: per-key queues served round-robin, at most `perKey` entries
 * of one key claimed or running at once, higher priority first within a key, submission order
 * among equals, per-key pause.
 *
 * A task with no `key` option lives under the key `""`, so priority-only scheduling is one
 * priority queue. Workers claim one entry at a time here (per-key limits are checked at claim
 * time).
 *
 * Round-robin as in deficit round-robin: the ring holds exactly the keys with waiting entries,
 * and a key that gets its first waiting entry joins just behind the cursor, so it is served
 * after every key already waiting. Between two claims of a key that stays ready, no other key
 * is claimed twice (a key refilled right after each claim cannot starve the others).
 *
 * Cost: O(log n) per push and take (a binary heap per key), plus O(keys) when a key joins or
 * leaves the ring; a cancel is O(1) unless it empties its key, and the heap is swept once
 * cancelled entries outnumber live ones; `evictOldest` is O(n) (only `"sliding"` uses it).
 *
 * @internal
 */
import * as Heap from "./heap.js"
import { CLAIMED, type Entry, QUEUED, shouldSweep, type TaskQueue } from "./taskQueue.js"

interface KeyState<T> {
  readonly key: string
  heap: Array<Entry<T>>
  /** live entries in `heap` */
  live: number
  /** claimed or running */
  active: number
  paused: boolean
  inRing: boolean
}

const isQueued = (entry: Entry<unknown>): boolean => entry.state === QUEUED

/** @internal */
export const make = <T>(perKey: number): TaskQueue<T> => {
  const keys = new Map<string, KeyState<T>>()
  /** the keys with waiting entries, served round-robin from `cursor` */
  let ring: Array<KeyState<T>> = []
  let cursor = 0
  let live = 0

  const stateOf = (key: string): KeyState<T> => {
    let state = keys.get(key)
    if (state === undefined) {
      state = { key, heap: [], live: 0, active: 0, paused: false, inRing: false }
      keys.set(key, state)
    }
    return state
  }

  // keys come and go (tenants, hosts): keep no state for a key with nothing to remember
  const forgetIfUnused = (state: KeyState<T>): void => {
    if (state.live === 0 && state.active === 0 && !state.paused && !state.inRing) keys.delete(state.key)
  }

  const leaveRing = (index: number): void => {
    const [state] = ring.splice(index, 1)
    state!.inRing = false
    state!.heap = []
    if (cursor > index) cursor--
    forgetIfUnused(state!)
  }

  /** A key whose last waiting entry left (cancelled, evicted) leaves the ring at once. */
  const leaveRingIfEmpty = (state: KeyState<T>): void => {
    if (state.live === 0 && state.inRing) leaveRing(ring.indexOf(state))
  }

  const enqueue = (entry: Entry<T>): void => {
    const state = stateOf(entry.key)
    Heap.push(state.heap, entry)
    state.live++
    live++
    if (!state.inRing) {
      // just behind the cursor: the last one this round (appending would let a key refilled
      // right after its claim jump ahead of every waiting key, again and again)
      state.inRing = true
      ring.splice(cursor, 0, state)
      cursor++
    }
  }

  return {
    maxChunk: 1,
    get size() {
      return live
    },
    push: enqueue,
    pushFront: (entries) => {
      for (const entry of entries) {
        entry.state = QUEUED
        stateOf(entry.key).active--
        enqueue(entry)
      }
    },
    take: () => {
      let visits = ring.length
      while (visits-- > 0 && ring.length > 0) {
        if (cursor >= ring.length) cursor = 0
        const state = ring[cursor]!
        while (state.heap.length > 0 && state.heap[0]!.state !== QUEUED) Heap.pop(state.heap) // cancelled
        if (state.heap.length === 0) {
          leaveRing(cursor)
          continue
        }
        if (state.paused || state.active >= perKey) {
          cursor++
          continue
        }
        const entry = Heap.pop(state.heap)
        entry.state = CLAIMED
        state.live--
        live--
        state.active++
        if (state.live === 0) leaveRing(cursor)
        else cursor++
        return [entry]
      }
      return undefined
    },
    cancel: (entry) => {
      const state = keys.get(entry.key)!
      state.live--
      live--
      if (state.live === 0) leaveRingIfEmpty(state)
      else if (shouldSweep(state.heap.length - state.live, state.live)) state.heap = Heap.filter(state.heap, isQueued)
    },
    evictOldest: () => {
      let oldest: Entry<T> | undefined
      for (const state of ring) {
        for (const entry of state.heap) {
          if (entry.state === QUEUED && !entry.started && (oldest === undefined || entry.seq < oldest.seq)) {
            oldest = entry
          }
        }
      }
      if (oldest === undefined) return undefined
      const state = keys.get(oldest.key)!
      const evicted = oldest
      state.heap = Heap.filter(state.heap, (entry) => entry !== evicted && isQueued(entry))
      state.live--
      live--
      leaveRingIfEmpty(state)
      return oldest
    },
    finished: (entry) => {
      const state = keys.get(entry.key)
      if (state === undefined) return false
      state.active--
      forgetIfUnused(state)
      return state.live > 0
    },
    drain: () => {
      const all: Array<Entry<T>> = []
      for (const state of ring) {
        for (const entry of state.heap) if (entry.state === QUEUED) all.push(entry)
        state.heap = []
        state.live = 0
        state.inRing = false
        forgetIfUnused(state)
      }
      ring = []
      cursor = 0
      live = 0
      return all.sort((a, b) => a.seq - b.seq)
    },
    heldByKeys: () => {
      let held = 0
      for (const state of keys.values()) if (state.paused) held += state.live
      return held
    },
    pauseKey: (key) => {
      stateOf(key).paused = true
    },
    resumeKey: (key) => {
      const state = keys.get(key)
      if (state === undefined) return
      state.paused = false
      forgetIfUnused(state)
    },
    resumeAllKeys: () => {
      for (const state of [...keys.values()]) {
        state.paused = false
        forgetIfUnused(state)
      }
    }
  }
}

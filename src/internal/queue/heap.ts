/**
 * A binary heap of entries: higher priority first, then lower `seq` (submission order).
 *
 * @internal
 */
import type { Entry } from "./taskQueue.js"

/** @internal */
export const before = (a: Entry<unknown>, b: Entry<unknown>): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq)

/** @internal */
export const push = <T>(heap: Array<Entry<T>>, entry: Entry<T>): void => {
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

/** @internal */
export const pop = <T>(heap: Array<Entry<T>>): Entry<T> => {
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

/** Rebuilds a heap from the entries `keep` accepts (a sorted array is a valid heap). */
export const filter = <T>(heap: Array<Entry<T>>, keep: (entry: Entry<T>) => boolean): Array<Entry<T>> =>
  heap.filter(keep).sort((a, b) => (before(a, b) ? -1 : 1))

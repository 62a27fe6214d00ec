/**
 * The supervisor's task queue.
 *
 * Why not `Queue` / `Mailbox`: the supervisor must know *which* task a full `"sliding"` queue
 * pushes out (it ends `Dropped`), hand never-started tasks back on `shutdownNow`, put a
 * crashed worker's unstarted chunk back at the front, wake one idle worker for a restart,
 * and count a slot as free only when a task *starts* (capacity counts queued tasks, including
 * those a worker has claimed in a chunk but not started). Neither Effect queue exposes those
 * operations. Everything here runs on one JS thread between fiber yields, so plain arrays and
 * counters are safe; suspension goes through `Effect.async`, one waiter record per suspended
 * fiber (never a Semaphore that wakes every waiter).
 *
 * Cost: an admission is an array push plus a counter; a take is one `splice` of up to 64
 * entries.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal */
export const QUEUED = 0
/** @internal */
export const RUNNING = 1
/** @internal */
export const DONE = 2

/**
 * One accepted task. `settle` is set only when someone awaits the outcome (`execute`).
 *
 * @internal
 */
export interface Entry<T> {
  readonly task: T
  state: number
  readonly enqueuedAt: number
  settle: ((outcome: any) => void) | undefined
}

interface Taker {
  resume: (() => void) | undefined
}

/** @internal */
export class TaskQueue<T> {
  /** accepted and not yet claimed by a worker */
  private buffer: Array<Entry<T>> = []
  private head = 0
  /** accepted and not yet started: buffered + claimed by a worker in a chunk */
  notStarted = 0
  closed = false
  private takers: Array<Taker> = []
  private spaceWaiters: Array<() => void> = []

  constructor(readonly capacity: number) {}

  get buffered(): number {
    return this.buffer.length - this.head
  }

  get hasRoom(): boolean {
    return this.notStarted < this.capacity
  }

  /** Appends an accepted entry (the caller checked `hasRoom` or evicted one). */
  push(entry: Entry<T>): void {
    this.buffer.push(entry)
    this.notStarted++
    this.wakeOneTaker()
  }

  /** Puts a worker's unstarted entries back at the front, in order. */
  pushFront(entries: ReadonlyArray<Entry<T>>): void {
    if (entries.length === 0) return
    this.compact()
    this.buffer.unshift(...entries)
    this.wakeOneTaker()
  }

  /** Removes the oldest buffered entry (for `"sliding"`), or `undefined` when none is buffered. */
  evictOldest(): Entry<T> | undefined {
    if (this.head >= this.buffer.length) return undefined
    const entry = this.buffer[this.head]!
    this.buffer[this.head++] = undefined as any
    // a cancelled entry already gave its slot back when it was cancelled
    if (entry.state === QUEUED) this.notStarted--
    this.compactIfSparse()
    return entry
  }

  /** Claims up to `max` buffered entries; `undefined` when none is buffered. */
  take(max: number): Array<Entry<T>> | undefined {
    const available = this.buffer.length - this.head
    if (available === 0) return undefined
    const n = available < max ? available : max
    const chunk = this.buffer.slice(this.head, this.head + n)
    this.head += n
    if (this.head === this.buffer.length) {
      this.buffer = []
      this.head = 0
    } else {
      this.compactIfSparse()
    }
    return chunk
  }

  /** Empties the buffer (shutdownNow): the entries that never started and were not cancelled. */
  drain(): Array<Entry<T>> {
    const rest = this.buffer.slice(this.head).filter((entry) => entry.state === QUEUED)
    this.buffer = []
    this.head = 0
    this.notStarted -= rest.length
    return rest
  }

  /** A queued entry started or was cancelled: its slot is free again. */
  release(): void {
    this.notStarted--
    if (this.spaceWaiters.length > 0 && this.notStarted < this.capacity) {
      this.spaceWaiters.shift()!()
    }
  }

  /** Suspends until there may be room (or the queue closed); callers re-check. */
  readonly awaitSpace: Effect.Effect<void> = Effect.async<void>((resume) => {
    const waiter = () => resume(Effect.void)
    this.spaceWaiters.push(waiter)
    return Effect.sync(() => {
      const i = this.spaceWaiters.indexOf(waiter)
      if (i >= 0) this.spaceWaiters.splice(i, 1)
      else this.passSpaceOn()
    })
  })

  /** Suspends until an entry may be available, the queue closed, or `wake` was called. */
  awaitWork(taker: Taker): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      taker.resume = () => resume(Effect.void)
      this.takers.push(taker)
      return Effect.sync(() => {
        taker.resume = undefined
        const i = this.takers.indexOf(taker)
        if (i >= 0) this.takers.splice(i, 1)
      })
    })
  }

  /** Wakes one particular idle worker (a restart request); no-op when it is busy. */
  wake(taker: Taker): void {
    const i = this.takers.indexOf(taker)
    if (i >= 0) {
      this.takers.splice(i, 1)
      const resume = taker.resume
      taker.resume = undefined
      resume?.()
    }
  }

  /** Stops admissions: idle workers and suspended producers wake to see it. */
  close(): void {
    if (this.closed) return
    this.closed = true
    const takers = this.takers
    this.takers = []
    for (const taker of takers) {
      const resume = taker.resume
      taker.resume = undefined
      resume?.()
    }
    const waiters = this.spaceWaiters
    this.spaceWaiters = []
    for (const waiter of waiters) waiter()
  }

  private wakeOneTaker(): void {
    while (this.takers.length > 0) {
      const taker = this.takers.shift()!
      const resume = taker.resume
      taker.resume = undefined
      if (resume !== undefined) {
        resume()
        return
      }
    }
  }

  // A waiter that was woken but interrupted before using its slot hands the wake-up on.
  private passSpaceOn(): void {
    if (this.spaceWaiters.length > 0 && this.notStarted < this.capacity) {
      this.spaceWaiters.shift()!()
    }
  }

  private compact(): void {
    if (this.head > 0) {
      this.buffer = this.buffer.slice(this.head)
      this.head = 0
    }
  }

  private compactIfSparse(): void {
    if (this.head > 1024 && this.head * 2 > this.buffer.length) this.compact()
  }
}

/** @internal */
export type { Taker }

/**
 * The supervisor's task queue: admission accounting, suspension of producers and idle
 * workers, pause. Where waiting tasks are kept and in which order they start is up to a
 * subclass: {@link FifoQueue} (the default) or the keyed / priority scheduler.
 *
 * Why not `Queue` / `Mailbox`: the supervisor must know *which* task a full `"sliding"` queue
 * pushes out (it ends `Dropped`), hand never-started tasks back on `shutdownNow`, put a
 * crashed worker's unstarted chunk back at the front, wake one idle worker for a restart,
 * hold work while paused, and count a slot as free only when a task *starts* (capacity counts
 * queued tasks, including those a worker has claimed but not started). Neither Effect queue
 * exposes those operations. Everything here runs on one JS thread between fiber yields, so
 * plain arrays and counters are safe; suspension goes through `Effect.async`, one waiter
 * record per suspended fiber (never a Semaphore that wakes every waiter).
 *
 * Cost (FIFO): an admission is an array push plus a counter; a take is one `slice` of up to
 * 64 entries.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** @internal */
export const QUEUED = 0
/** @internal */
export const RUNNING = 1
/** @internal */
export const DONE = 2

/**
 * One accepted task. `settle` is set only when someone awaits the outcome (`execute`,
 * handles); `fiber` only while a cancellable task runs.
 *
 * @internal
 */
export interface Entry<T> {
  readonly task: T
  state: number
  readonly enqueuedAt: number
  settle: ((outcome: any) => void) | undefined
  readonly key: string
  readonly priority: number
  readonly seq: number
  cancellable: boolean
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** the fiber awaiting the outcome (`execute`): once it is gone, the task need not start */
  caller: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

/** @internal */
export interface Taker {
  resume: (() => void) | undefined
}

/** @internal */
export abstract class TaskQueue<T> {
  /** accepted and not yet started: waiting + claimed by a worker in a chunk */
  notStarted = 0
  closed = false
  paused = false
  private takers: Array<Taker> = []
  private spaceWaiters: Array<() => void> = []

  constructor(readonly capacity: number) {}

  /** waiting entries (not claimed by a worker); may include cancelled ones */
  abstract get buffered(): number
  /** the most entries one take may claim */
  abstract readonly maxChunk: number
  protected abstract enqueue(entry: Entry<T>): void
  protected abstract enqueueFront(entries: ReadonlyArray<Entry<T>>): void
  protected abstract removeOldest(): Entry<T> | undefined
  protected abstract takeReady(max: number): Array<Entry<T>> | undefined
  protected abstract removeAll(): Array<Entry<T>>
  /** a claimed entry ended (or went back to the queue) */
  abstract finished(entry: Entry<T>): void
  /** queued tasks held back by a pause */
  abstract heldByPause(): number

  get hasRoom(): boolean {
    return this.notStarted < this.capacity
  }

  /** Appends an accepted entry (the caller checked `hasRoom` or evicted one). */
  push(entry: Entry<T>): void {
    this.enqueue(entry)
    this.notStarted++
    this.wakeOneTaker()
  }

  /** Puts a worker's claimed, unstarted entries back, in order, ahead of the rest. */
  pushFront(entries: ReadonlyArray<Entry<T>>): void {
    if (entries.length === 0) return
    this.enqueueFront(entries)
    this.wakeOneTaker()
  }

  /** Removes the oldest waiting entry (for `"sliding"`), or `undefined` when none waits. */
  evictOldest(): Entry<T> | undefined {
    const entry = this.removeOldest()
    // a cancelled entry already gave its slot back when it was cancelled
    if (entry !== undefined && entry.state === QUEUED) this.notStarted--
    return entry
  }

  /** Claims up to `max` waiting entries; `undefined` when none is ready (or paused). */
  take(max: number): Array<Entry<T>> | undefined {
    return this.paused ? undefined : this.takeReady(max)
  }

  /** Empties the queue (shutdownNow): the entries that never started and were not cancelled. */
  drain(): Array<Entry<T>> {
    const rest = this.removeAll().filter((entry) => entry.state === QUEUED)
    this.notStarted -= rest.length
    return rest
  }

  /** A queued entry started or was cancelled: its slot is free again. */
  release(): void {
    this.notStarted--
    this.passSpaceOn()
  }

  /** Suspends until there may be room (or the queue closed); callers re-check. */
  readonly awaitSpace: Effect.Effect<void> = Effect.async<void>((resume) => {
    const waiter = () => resume(Effect.void)
    this.spaceWaiters.push(waiter)
    return Effect.sync(() => {
      const i = this.spaceWaiters.indexOf(waiter)
      if (i >= 0) this.spaceWaiters.splice(i, 1)
      else this.passSpaceOn() // woken, then interrupted: hand the wake-up on
    })
  })

  /**
   * Suspends until an entry may be ready, the queue closed, or `wake` was called.
   *
   * No canceler: on `Effect.async` one costs ~1–2 µs per wait (an `onInterrupt` wrapper), and
   * a worker parks after nearly every task when tasks trickle in. A worker interrupted while
   * parked calls {@link forget} from its own finalizer instead.
   */
  awaitWork(taker: Taker): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      taker.resume = () => resume(Effect.void)
      this.takers.push(taker)
    })
  }

  /** A parked worker went away: never wake it. */
  forget(taker: Taker): void {
    taker.resume = undefined
    const i = this.takers.indexOf(taker)
    if (i >= 0) this.takers.splice(i, 1)
  }

  /** Wakes one particular idle worker (a restart or retirement); no-op when it is busy. */
  wake(taker: Taker): void {
    const i = this.takers.indexOf(taker)
    if (i >= 0) {
      this.takers.splice(i, 1)
      const resume = taker.resume
      taker.resume = undefined
      resume?.()
    }
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.wakeAllTakers()
  }

  /** Stops admissions: idle workers and suspended producers wake to see it. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.wakeAllTakers()
    const waiters = this.spaceWaiters
    this.spaceWaiters = []
    for (const waiter of waiters) waiter()
  }

  protected wakeOneTaker(): void {
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

  protected wakeAllTakers(): void {
    const takers = this.takers
    this.takers = []
    for (const taker of takers) {
      const resume = taker.resume
      taker.resume = undefined
      resume?.()
    }
  }

  private passSpaceOn(): void {
    if (this.spaceWaiters.length > 0 && this.notStarted < this.capacity) {
      this.spaceWaiters.shift()!()
    }
  }
}

/**
 * First in, first out; workers claim chunks.
 *
 * @internal
 */
export class FifoQueue<T> extends TaskQueue<T> {
  private buffer: Array<Entry<T>> = []
  private head = 0

  constructor(capacity: number, readonly maxChunk: number) {
    super(capacity)
  }

  get buffered(): number {
    return this.buffer.length - this.head
  }

  protected enqueue(entry: Entry<T>): void {
    this.buffer.push(entry)
  }

  protected enqueueFront(entries: ReadonlyArray<Entry<T>>): void {
    this.compact()
    this.buffer.unshift(...entries)
  }

  protected removeOldest(): Entry<T> | undefined {
    if (this.head >= this.buffer.length) return undefined
    const entry = this.buffer[this.head]!
    this.buffer[this.head++] = undefined as any
    this.compactIfSparse()
    return entry
  }

  protected takeReady(max: number): Array<Entry<T>> | undefined {
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

  protected removeAll(): Array<Entry<T>> {
    const rest = this.buffer.slice(this.head)
    this.buffer = []
    this.head = 0
    return rest
  }

  finished(): void {}

  heldByPause(): number {
    return this.paused ? this.notStarted : 0
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

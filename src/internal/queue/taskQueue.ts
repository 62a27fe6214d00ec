/**
 * The waiting room of a supervisor: where accepted tasks wait, and in which order they start.
 *
 * A small record of operations, like effect's `Pool` strategy: the supervisor's admission and
 * workers drive it, and each implementation ({@link import("./fifo.js")}, {@link import("./keyed.js")})
 * is tested on its own. A queue only orders entries; counting capacity, waking workers and
 * recording outcomes happen elsewhere (`admission.ts`, `worker.ts`, `ledger.ts`).
 *
 * Why not `Queue` / `Mailbox`: a full `"sliding"` queue must say *which* task it pushes out (it
 * ends `Dropped`), a cancelled waiting task must leave at once, a crashed worker's unstarted
 * chunk goes back to the front, and the keyed scheduler picks by key and priority. Neither
 * Effect queue exposes those operations.
 *
 * Everything runs on one JS thread between fiber yields: plain arrays, no locks.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** Waiting in the queue. */
export const QUEUED = 0
/** Claimed by a worker in a chunk, not started: still counts against capacity. */
export const CLAIMED = 1
/** Taken by a worker: in its attempt pipeline (waiting for a permit, or running). */
export const ACTIVE = 2
/** Has its outcome. */
export const DONE = 3

/** @internal */
export type EntryState = typeof QUEUED | typeof CLAIMED | typeof ACTIVE | typeof DONE

/**
 * One accepted task.
 *
 * @internal
 */
export interface Entry<T> {
  readonly task: T
  state: EntryState
  /** the handler was called at least once (so the task is never "pending") */
  started: boolean
  readonly enqueuedAt: number
  readonly key: string
  readonly priority: number
  readonly seq: number
  /** set when someone awaits the outcome (`execute`, handles) */
  settle: ((outcome: any) => void) | undefined
  /** set for `submitWithHandle` tasks: they run in their own fiber so `cancel` can reach them */
  handle: HandleState | undefined
  /**
   * the attempt `execute` built when it tried to run the task in place and could not finish it
   * there (see `Workers.runInPlace`): the worker that starts the task runs it, so the handler is
   * called once. Also the defect of a task whose `key` or `priority` threw (see `Admission`).
   */
  prepared: Effect.Effect<any, any, any> | undefined
  /**
   * its `execute` caller was interrupted after a worker took it but before its handler was
   * called (it waits for a rate-limit permit): the handler is never called, it ends `Interrupted`
   */
  abandoned: boolean
}

/** @internal */
export interface HandleState {
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** `cancel` came while the task was active: interrupt its fiber as soon as it exists */
  cancelled: boolean
}

/** @internal */
export interface TaskQueue<T> {
  /** the most entries one `take` may claim */
  readonly maxChunk: number
  /** live entries waiting to be claimed (cancelled ones excluded) */
  readonly size: number
  /** appends an accepted entry */
  readonly push: (entry: Entry<T>) => void
  /** puts claimed, unstarted entries back, in order, ahead of the rest */
  readonly pushFront: (entries: ReadonlyArray<Entry<T>>) => void
  /** claims up to `max` ready entries (they become `CLAIMED`); `undefined` when none is ready */
  readonly take: (max: number) => Array<Entry<T>> | undefined
  /**
   * a waiting entry was cancelled (its state already left `QUEUED`): it leaves the queue, its
   * memory is reclaimed in amortized O(1)
   */
  readonly cancel: (entry: Entry<T>) => void
  /**
   * removes the oldest waiting entry that has not started (`"sliding"`); `undefined` when none
   * waits. A started entry in the queue is one whose handler `execute` called and whose worker
   * stopped before running it (see `Workers.runInPlace`): it waits to run, not to start, and
   * dropping it would drop a task that started.
   */
  readonly evictOldest: () => Entry<T> | undefined
  /**
   * a claimed entry ended or was cancelled after it was claimed; true when that may let a
   * waiting entry start (a key below its `perKey` limit again)
   */
  readonly finished: (entry: Entry<T>) => boolean
  /** removes and returns every waiting entry, oldest first */
  readonly drain: () => Array<Entry<T>>
  /** waiting entries held back by a key pause */
  readonly heldByKeys: () => number
  readonly pauseKey: (key: string) => void
  readonly resumeKey: (key: string) => void
  readonly resumeAllKeys: () => void
}

/** Garbage (cancelled entries still in an array) is swept once it outweighs the live entries. */
export const shouldSweep = (garbage: number, live: number): boolean => garbage > 32 && garbage > live

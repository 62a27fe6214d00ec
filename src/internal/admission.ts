/**
 * Admission: how a task gets into the supervisor — `submit`, `submitAll`, `offer`, `execute`,
 * `submitWithHandle` — capacity, the one strategy switch (`"suspend"` / `"dropping"` /
 * `"sliding"`), producers waiting for room, and cancelling a task that has not started.
 *
 * Every effect here builds its entry when it runs, so running the same `submit(task)` effect
 * twice (a `retry`, a `repeat`) submits the task twice, each with its own outcome.
 *
 * Capacity counts accepted tasks that have not started: waiting in the queue or claimed by a
 * worker in a chunk. A slot frees when a worker takes the task, or when it is cancelled.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { SupervisorClosed, type TaskError } from "../Errors.js"
import * as Outcome from "../Outcome.js"
import type * as Supervisor from "../Supervisor.js"
import { HANDED } from "./immediate.js"
import { type Ledger, outcomeToExit } from "./ledger.js"
import type { Lifecycle } from "./lifecycle.js"
import {
  ACTIVE,
  CLAIMED,
  type Entry,
  type EntryState,
  type HandleState,
  QUEUED,
  type TaskQueue
} from "./queue/taskQueue.js"

/** @internal */
export interface AdmissionOptions<T> {
  readonly capacity: number
  readonly strategy: "suspend" | "dropping" | "sliding"
  readonly key: ((task: T) => string) | undefined
  readonly priority: ((task: T) => number) | undefined
  readonly clock: { readonly unsafeCurrentTimeMillis: () => number }
  /** an entry was pushed or cancelled: wake a worker */
  readonly changed: () => void
  /**
   * `execute`'s shortcut, when attempts allow it (see `Workers.runInPlace`): the task's result
   * when it got its outcome without being queued
   */
  readonly runInPlace: ((entry: Entry<T>) => Effect.Effect<any, any> | typeof HANDED | undefined) | undefined
}

type AnyOutcome = Outcome.Outcome<any, any, any>

/**
 * An entry, made by a constructor rather than an object literal on purpose: V8 tracks a
 * literal's allocation site, and entries awaited by `execute` survive young-generation
 * collections often enough that it "pretenures" the site — every later entry is allocated in
 * the old generation, which then fills with garbage. Measured with 8 `execute` callers: ~225 MB
 * promoted per 300k tasks instead of ~36 MB, and ~1.7x the time per task.
 */
class Accepted<T> implements Entry<T> {
  state: EntryState = QUEUED
  started = false
  settle: ((outcome: any) => void) | undefined = undefined
  handle: HandleState | undefined = undefined
  prepared: Effect.Effect<any, any, any> | undefined = undefined
  abandoned = false
  constructor(
    readonly task: T,
    readonly enqueuedAt: number,
    readonly key: string,
    readonly priority: number,
    readonly seq: number
  ) {}
}

/** @internal */
export class Admission<T, A, E, S> {
  /** accepted and not yet started */
  notStarted = 0
  private seq = 0
  /** producers waiting for room, oldest first */
  private readonly spaceWaiters = new Set<() => void>()
  /** free slots that wake waiting producers: a worker's chunk, at most a quarter of capacity */
  private readonly lowWater: number
  /** a `wakeSoon` is armed */
  private soon = false

  constructor(
    private readonly queue: TaskQueue<T>,
    private readonly ledger: Ledger<T, A, E, S>,
    private readonly lifecycle: Lifecycle<any>,
    private readonly options: AdmissionOptions<T>
  ) {
    this.lowWater = Math.max(1, Math.min(64, Math.floor(options.capacity / 4)))
  }

  get hasRoom(): boolean {
    return this.notStarted < this.options.capacity
  }

  private entry(task: T, now = this.options.clock.unsafeCurrentTimeMillis()): Entry<T> {
    const { key, priority } = this.options
    if (key === undefined && priority === undefined) return new Accepted(task, now, "", 0, this.seq++)
    let entry: Entry<T>
    try {
      entry = new Accepted(
        task,
        now,
        key === undefined ? "" : key(task),
        priority === undefined ? 0 : priority(task),
        this.seq++
      )
    } catch (error) {
      // a `key` or `priority` that throws for this task: accepted, and its `Defect` when a
      // worker takes it (its attempt is that defect: the handler is never called)
      entry = new Accepted(task, now, "", 0, this.seq++)
      entry.prepared = Effect.die(error)
    }
    return entry
  }

  private accept(entry: Entry<T>): void {
    this.ledger.accept()
    this.notStarted++
    this.queue.push(entry)
    this.options.changed()
  }

  /**
   * A task started or was cancelled before it started: its slot is free again. Waiting
   * producers wake once a batch of slots is free (`lowWater`), one per free slot: waking one
   * per started task made a full queue cost a producer round trip per task (~4–7 µs measured).
   * Fewer free slots wake them within an event-loop turn (`wakeSoon`): tasks that start
   * slowly, or wait for something the producer does next, must not leave it waiting.
   */
  release(): void {
    this.notStarted--
    if (this.spaceWaiters.size === 0) return
    if (this.options.capacity - this.notStarted >= this.lowWater) this.wakeProducers()
    else if (!this.soon) {
      this.soon = true
      setImmediate(this.wakeSoon)
    }
  }

  private readonly wakeSoon = (): void => {
    this.soon = false
    this.wakeProducers()
  }

  /** Wakes waiting producers, oldest first, one per free slot. */
  private wakeProducers(): void {
    let free = this.options.capacity - this.notStarted
    for (const waiter of this.spaceWaiters) {
      if (free-- <= 0) return
      this.spaceWaiters.delete(waiter)
      waiter()
    }
  }

  /** A started task went back to the queue unstarted: it holds a slot again. */
  reclaim(): void {
    this.notStarted++
  }

  /** Tries to admit without suspending: true when accepted (possibly as `Dropped`). */
  private tryAdmit(entry: Entry<T>, dropWhenFull: boolean): boolean {
    if (this.hasRoom) {
      this.accept(entry)
      return true
    }
    switch (this.options.strategy) {
      case "suspend":
        return false
      case "dropping":
        if (!dropWhenFull) return false
        this.ledger.accept()
        this.ledger.record(entry, Outcome.dropped(entry.task))
        return true
      case "sliding":
        while (!this.hasRoom) {
          const oldest = this.queue.evictOldest()
          if (oldest === undefined) break
          this.notStarted--
          this.ledger.record(oldest, Outcome.dropped(oldest.task))
        }
        this.accept(entry)
        return true
    }
  }

  /**
   * Suspends until there may be room or admission closed; callers re-check. The check runs
   * when the wait registers, so room freed on the way here is never missed.
   */
  private readonly awaitSpace: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.hasRoom || !this.lifecycle.isOpen) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.spaceWaiters.add(waiter)
    return Effect.sync(() => {
      this.spaceWaiters.delete(waiter)
    })
  })

  /** Admits `entry` at once when it can (no extra suspension), else waits for room. */
  private admit(entry: Entry<T>): Effect.Effect<void, SupervisorClosed> {
    if (!this.lifecycle.isOpen) return Effect.fail(new SupervisorClosed())
    if (this.tryAdmit(entry, true)) return Effect.void
    return this.passOn(this.admitWhenRoom(entry))
  }

  /**
   * A producer woken for a free slot and interrupted before it took it would take the wake-up
   * with it, and the next waiting producer would wait while the queue has room: it is passed on.
   * Around the whole wait (its retries run inside), not each round: one frame per producer.
   */
  private passOn<E>(waiting: Effect.Effect<void, E>): Effect.Effect<void, E> {
    return Effect.onInterrupt(waiting, () => Effect.sync(() => this.wakeProducers()))
  }

  private admitWhenRoom(entry: Entry<T>): Effect.Effect<void, SupervisorClosed> {
    return Effect.zipRight(
      this.awaitSpace,
      Effect.suspend(() => {
        if (!this.lifecycle.isOpen) return Effect.fail(new SupervisorClosed())
        return this.tryAdmit(entry, true) ? Effect.void : this.admitWhenRoom(entry)
      })
    )
  }

  /** Stops admissions: producers waiting for room wake up and fail with `SupervisorClosed`. */
  close(): void {
    const waiters = [...this.spaceWaiters]
    this.spaceWaiters.clear()
    for (const waiter of waiters) waiter()
  }

  submit(task: T): Effect.Effect<void, SupervisorClosed> {
    return Effect.suspend(() => this.admit(this.entry(task)))
  }

  submitAll(tasks: Iterable<T>): Effect.Effect<void, SupervisorClosed> {
    return Effect.suspend(() => {
      const iterator = tasks[Symbol.iterator]()
      let next = iterator.next()
      let waited = false
      const loop: Effect.Effect<void, SupervisorClosed> = Effect.suspend(() => {
        if (!this.lifecycle.isOpen) return Effect.fail(new SupervisorClosed())
        // a clock read per 256 tasks, not per task (~45 ns each): they are accepted within
        // microseconds of each other (the clock has millisecond resolution)
        const clock = this.options.clock
        let now = clock.unsafeCurrentTimeMillis()
        let stretch = 0
        while (next.done !== true) {
          if (!this.hasRoom && this.options.strategy === "suspend") {
            const wait = Effect.zipRight(this.awaitSpace, loop)
            if (waited) return wait // already inside the first wait's `passOn`
            waited = true
            return this.passOn(wait)
          }
          if ((++stretch & 255) === 0) now = clock.unsafeCurrentTimeMillis()
          this.tryAdmit(this.entry(next.value, now), true)
          next = iterator.next()
        }
        return Effect.void
      })
      return loop
    })
  }

  offer(task: T): Effect.Effect<boolean, SupervisorClosed> {
    return Effect.suspend(() => {
      if (!this.lifecycle.isOpen) return Effect.fail(new SupervisorClosed())
      return Effect.succeed(this.tryAdmit(this.entry(task), false))
    })
  }

  /**
   * Submits and waits for the outcome. Interrupting the caller cancels the task at once if it
   * has not started (it ends `Interrupted`, its slot frees); a started task runs on.
   */
  execute(task: T): Effect.Effect<A, E | TaskError> {
    return Effect.suspend(() => {
      const entry = this.entry(task)
      const inPlace = this.options.runInPlace
      let handed = false
      if (inPlace !== undefined && this.lifecycle.isOpen) {
        const done = inPlace(entry)
        if (done === HANDED) {
          // a parked worker took it (it runs later): accepted, holding a slot until it starts
          handed = true
          this.ledger.accept()
          this.notStarted++
        } else if (done !== undefined) {
          return done
        }
      }
      // a callback on the entry rather than a Deferred: cheaper, and measured on this path
      let result: Exit.Exit<A, E | TaskError> | undefined
      let resume: ((exit: Exit.Exit<A, E | TaskError>) => void) | undefined
      entry.settle = (outcome: AnyOutcome) => {
        result = outcomeToExit(outcome)
        resume?.(result)
      }
      // One frame that cancels on interruption, instead of a canceler returned from
      // `Effect.async` (which wraps it in `onInterrupt` → `onExit`: measured ~1.2 µs more per
      // call with 8 callers). On any other exit the entry is done, so `cancel` is a no-op.
      const awaitOutcome = Effect.uninterruptibleMask((restore) =>
        Effect.catchAllCause(
          restore(Effect.async<A, E | TaskError>((callback) => {
            if (result !== undefined) return callback(result)
            resume = callback
          })),
          (cause) => {
            resume = undefined
            // taken by a worker, its handler not called yet: it never will be (see `abandoned`)
            if (!this.cancel(entry) && entry.state === ACTIVE && !entry.started) entry.abandoned = true
            return Effect.failCause(cause)
          }
        )
      )
      if (handed) return awaitOutcome
      const admitted = this.admit(entry)
      return admitted === Effect.void ? awaitOutcome : Effect.zipRight(admitted, awaitOutcome)
    })
  }

  /**
   * Cancels a task that has not started; false when it already started or ended. A queued or
   * claimed task can have started: its handler called by `execute` in the caller, its attempt
   * waiting for the worker it was handed to (see `Workers.runInPlace`).
   */
  cancel(entry: Entry<T>): boolean {
    const state = entry.state
    if ((state !== QUEUED && state !== CLAIMED) || entry.started) return false
    this.ledger.record(entry, Outcome.interrupted(entry.task))
    if (state === QUEUED) this.queue.cancel(entry)
    this.release()
    this.options.changed()
    return true
  }

  submitWithHandle(task: T): Effect.Effect<Supervisor.TaskHandle<T, A, E>, SupervisorClosed> {
    return Effect.suspend(() => {
      const entry = this.entry(task)
      const handle = { fiber: undefined as any, cancelled: false }
      entry.handle = handle
      const done = Deferred.unsafeMake<Outcome.Outcome<T, A, E>>(FiberId.none)
      entry.settle = (outcome: Outcome.Outcome<T, A, E>) => Deferred.unsafeDone(done, Exit.succeed(outcome))
      const cancel = Effect.suspend(() => {
        if (this.cancel(entry)) return Effect.void
        if (entry.state === ACTIVE) {
          // the worker may not have forked the task's fiber yet: it checks `cancelled` when it does
          handle.cancelled = true
          handle.fiber?.unsafeInterruptAsFork(FiberId.none)
        }
        return Effect.asVoid(Deferred.await(done))
      })
      const taskHandle: Supervisor.TaskHandle<T, A, E> = { task, await: Deferred.await(done), cancel }
      return Effect.as(this.admit(entry), taskHandle)
    })
  }

  /** The supervisor stopped: every task still waiting ends `Interrupted` and is `pending`. */
  handBackAll(): void {
    for (const entry of this.queue.drain()) {
      this.notStarted--
      // `started`: `execute` called its handler, trying to run it in place
      this.ledger.record(entry, Outcome.interrupted(entry.task), 0, !entry.started)
    }
  }
}

/**
 * The ledger: THE place a task gets its one outcome.
 *
 * Every accepted task passes through {@link Ledger.accept} once and through {@link Ledger.record}
 * (or its allocation-free twin for successes, {@link Ledger.succeed}) exactly once; a second
 * record of the same entry is ignored. Recording is synchronous — counts, the fold, retention,
 * the awaiting caller, the `onOutcome` hook, live subscribers and the idle latch all change in
 * one step — so an interruption can never land between "counted" and "folded" or "published".
 *
 * Retention is bounded for a long-lived supervisor: the most recent `retain.failures` failures
 * and `retain.dropped` dropped tasks are kept (counts stay exact in `stats`); tasks that never
 * started when the supervisor stopped are always all kept (nothing is lost). A subscriber of
 * `outcomes` buffers at most `outcomesBuffer` unread outcomes; past that the oldest unread ones
 * are dropped for that subscriber (a stalled reader never stalls the workers nor grows memory).
 *
 * Cost: a success is a few counter bumps and one `combine` call; an `Outcome` object is made
 * only when someone awaits it, subscribes, or a hook listens.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Ref from "effect/Ref"
import { TaskDropped, type TaskError, TaskInterrupted } from "../Errors.js"
import * as Outcome from "../Outcome.js"
import { evaluate, NOT_IMMEDIATE } from "./immediate.js"
import { type Counts, Metrics } from "./metrics.js"
import { ACTIVE, CLAIMED, DONE, type Entry } from "./queue/taskQueue.js"

/** Outcomes between two metric syncs while busy (idle, `stats` and stop always sync). */
const METRICS_EVERY = 256

type AnyOutcome = Outcome.Outcome<any, any, any>

/**
 * What a queue behind the supervisor (the durable one) plugs in.
 *
 * @internal
 */
export interface Hooks<T, A, E> {
  /** called once per accepted task, synchronously, when its one outcome is recorded */
  readonly onOutcome?: ((outcome: Outcome.Outcome<T, A, E>) => void) | undefined
  /**
   * For a queue that times its tasks itself instead of the `timeout` option (the durable
   * consumer: one fiber for every job's timeout, not a timer per job): whether this failure is
   * an attempt that ran out of time, so that `timeouts` (stats and metric) counts it here, once.
   * Never set together with `timeout`, whose attempts count their own.
   */
  readonly timedOut?: ((failure: Outcome.Failure<T, E>) => boolean) | undefined
}

/** @internal */
export interface Retention {
  readonly failures: number
  readonly dropped: number
  readonly outcomesBuffer: number
}

/** The last `limit` items pushed, oldest first; O(1) per push. */
class Recent<A> {
  private items: Array<A> = []
  private start = 0
  constructor(private readonly limit: number) {}

  push(item: A): void {
    if (this.limit <= 0) return
    if (this.items.length < this.limit) {
      this.items.push(item)
    } else {
      this.items[this.start] = item
      this.start = (this.start + 1) % this.limit
    }
  }

  toArray(): Array<A> {
    return this.start === 0 ? this.items.slice() : [...this.items.slice(this.start), ...this.items.slice(0, this.start)]
  }
}

/** @internal */
export class Ledger<T, A, E, S> {
  readonly counts: Counts = {
    submitted: 0,
    succeeded: 0,
    failed: 0,
    defects: 0,
    interrupted: 0,
    dropped: 0,
    timeouts: 0,
    retries: 0,
    restarts: 0
  }
  /** entries taken by a worker and not yet recorded */
  running = 0
  /** accepted tasks without an outcome */
  private outstanding = 0
  /** set while a progress stream waits for the first task after an idle spell (progress.ts) */
  onBusy: (() => void) | undefined = undefined
  private unsynced = 0
  /** the live fold; the state `Ref` mirrors it (see {@link publishState}) */
  state: S
  private readonly failures: Recent<Outcome.Failure<T, E> | Outcome.Defect<T>>
  private readonly dropped: Recent<T>
  /** never started when the supervisor stopped: all of them */
  private readonly unstarted: Array<T> = []
  private readonly subscribers = new Set<Mailbox.Mailbox<Outcome.Outcome<T, A, E>>>()
  private readonly combine: ((s: S, a: A, t: T) => S) | undefined
  readonly metrics: Metrics

  constructor(
    initial: S,
    combine: ((s: S, a: A, t: T) => S) | undefined,
    readonly stateRef: Ref.Ref<S>,
    readonly idle: Effect.Latch,
    private readonly retention: Retention,
    private readonly hooks: Hooks<T, A, E>,
    name: string,
    /** tasks waiting to start, for the queued gauge */
    private readonly queued: () => number
  ) {
    this.state = initial
    this.combine = combine
    this.failures = new Recent(retention.failures)
    this.dropped = new Recent(retention.dropped)
    this.metrics = new Metrics(name)
  }

  /** An entry was accepted: it now owes exactly one outcome. */
  accept(): void {
    this.counts.submitted++
    if (this.outstanding++ === 0) {
      this.idle.unsafeClose()
      this.onBusy?.()
    }
  }

  /** A worker took the entry (it counts as running until recorded). */
  take(entry: Entry<T>): void {
    entry.state = ACTIVE
    this.running++
  }

  /** A taken entry goes back unstarted (its thread died before it began: see chunked.ts). */
  untake(entry: Entry<T>): void {
    entry.state = CLAIMED
    entry.started = false
    this.running--
  }

  /**
   * Records a success: folds it first, so a `combine` that throws turns the task into a
   * `Defect` (the state keeps its previous value) instead of losing anything; that outcome is
   * returned.
   */
  succeed(entry: Entry<T>, value: A, attempts: number): Outcome.Defect<T> | undefined {
    if (entry.state === DONE) return
    if (this.combine !== undefined) {
      try {
        this.state = this.combine(this.state, value, entry.task)
      } catch (defect) {
        const outcome = Outcome.defect(entry.task, defect, Cause.die(defect))
        this.record(entry, outcome, attempts)
        return outcome
      }
    }
    this.leave(entry)
    this.counts.succeeded++
    if (attempts > 1) this.counts.retries += attempts - 1
    if (entry.settle !== undefined || this.subscribers.size > 0 || this.hooks.onOutcome !== undefined) {
      this.deliver(entry, Outcome.success(entry.task, value, attempts))
    }
    this.settled()
  }

  /**
   * Records any outcome. `neverStarted` marks an `Interrupted` task the supervisor stopped
   * before its handler ran: it goes to `Summary.pending`.
   */
  record(entry: Entry<T>, outcome: AnyOutcome, attempts = 0, neverStarted = false): void {
    if (entry.state === DONE) return
    this.leave(entry)
    if (attempts > 1) this.counts.retries += attempts - 1
    switch (outcome._tag) {
      case "Success":
        this.counts.succeeded++
        break
      case "Failure":
        this.counts.failed++
        if (this.hooks.timedOut?.(outcome as Outcome.Failure<T, E>) === true) this.counts.timeouts++
        this.failures.push(outcome as Outcome.Failure<T, E>)
        break
      case "Defect":
        this.counts.defects++
        this.failures.push(outcome as Outcome.Defect<T>)
        break
      case "Interrupted":
        this.counts.interrupted++
        if (neverStarted) this.unstarted.push(entry.task)
        break
      case "Dropped":
        this.counts.dropped++
        this.dropped.push(entry.task)
        break
    }
    this.deliver(entry, outcome)
    this.settled()
  }

  private leave(entry: Entry<T>): void {
    if (entry.state === ACTIVE) this.running--
    entry.state = DONE
  }

  private deliver(entry: Entry<T>, outcome: AnyOutcome): void {
    const hook = this.hooks.onOutcome
    if (hook !== undefined) {
      // a hook that throws must not cost anyone their outcome; the hook's owner reports its own errors
      try {
        hook(outcome)
      } catch {
        // ignored on purpose: see above
      }
    }
    entry.settle?.(outcome)
    for (const subscriber of this.subscribers) subscriber.unsafeOffer(outcome)
  }

  private settled(): void {
    if (--this.outstanding === 0) {
      this.syncMetrics()
      this.idle.unsafeOpen()
    } else if (++this.unsynced >= METRICS_EVERY) {
      this.syncMetrics()
    }
  }

  syncMetrics(): void {
    this.unsynced = 0
    this.metrics.sync(this.counts, this.queued(), this.running)
  }

  /** The state `Ref` catches up with the live fold (once per chunk, and at idle and stop). */
  readonly publishState: Effect.Effect<void> = Effect.suspend(() => Ref.set(this.stateRef, this.state))

  /**
   * The state `Ref` catches up now, outside any fiber (a thread's reply that sends its worker's
   * next chunk): `Ref.set` is one `sync` op, run in place (see immediate.ts). False when it is
   * not (another Effect version): then `publishState` has to run.
   */
  publishNow(): boolean {
    return evaluate(Ref.set(this.stateRef, this.state)) !== NOT_IMMEDIATE
  }

  /** A live view of every outcome from now on, buffering at most `outcomesBuffer` unread. */
  readonly subscribe: Effect.Effect<Mailbox.Mailbox<Outcome.Outcome<T, A, E>>> = Effect.tap(
    Effect.suspend(() =>
      Mailbox.make<Outcome.Outcome<T, A, E>>({ capacity: this.retention.outcomesBuffer, strategy: "sliding" })
    ),
    (mailbox) => {
      this.subscribers.add(mailbox)
    }
  )

  unsubscribe(mailbox: Mailbox.Mailbox<Outcome.Outcome<T, A, E>>): void {
    this.subscribers.delete(mailbox)
  }

  /** The supervisor stopped: subscribers read what is buffered, then their stream ends. */
  close(): void {
    for (const subscriber of this.subscribers) subscriber.unsafeDone(Exit.void)
    this.subscribers.clear()
    this.syncMetrics()
  }

  get failureList(): Array<Outcome.Failure<T, E> | Outcome.Defect<T>> {
    return this.failures.toArray()
  }

  /** Dropped tasks (the most recent `retain.dropped`), then every task stopped unstarted. */
  get pending(): Array<T> {
    const dropped = this.dropped.toArray()
    return dropped.length === 0 ? this.unstarted.slice() : [...dropped, ...this.unstarted]
  }
}

/**
 * What an awaiting caller gets for an outcome (`execute`).
 *
 * @internal
 */
export const outcomeToExit = <A, E>(outcome: Outcome.Outcome<unknown, A, E>): Exit.Exit<A, E | TaskError> => {
  switch (outcome._tag) {
    case "Success":
      return Exit.succeed(outcome.value)
    case "Failure":
      return Exit.fail(outcome.error)
    case "Defect":
      return Exit.failCause(outcome.cause as Cause.Cause<never>)
    case "Interrupted":
      return Exit.fail(new TaskInterrupted({ task: outcome.task }))
    case "Dropped":
      return Exit.fail(new TaskDropped({ task: outcome.task }))
  }
}

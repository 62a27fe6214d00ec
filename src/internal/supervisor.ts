/**
 * The supervisor's implementation: admission, worker fibers, outcomes, restarts, shutdown.
 *
 * One JS thread runs every fiber, so the mutable counters and buffers below are only ever
 * touched between fiber yields; no locking is needed. The state `Ref` is updated once per
 * chunk of tasks; metrics are synced in batches (see `commit`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as RateLimiter from "effect/RateLimiter"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import {
  Escalated,
  type InvalidOptions,
  SupervisorClosed,
  TaskDropped,
  type TaskError,
  TaskInterrupted,
  TaskTimeout,
  WorkerCrashed
} from "../Errors.js"
import * as Outcome from "../Outcome.js"
import type * as Supervisor from "../Supervisor.js"
import { KeyedQueue } from "./keyedQueue.js"
import { type Counts, Metrics } from "./metrics.js"
import { type Normalized, validateWorkers } from "./options.js"
import { DONE, type Entry, FifoQueue, QUEUED, RUNNING, type Taker, type TaskQueue } from "./taskQueue.js"

/** The most tasks a worker claims at once. */
const MAX_CHUNK = 64

/** Outcomes between two metric syncs while busy (idle, `stats` and stop always sync). */
const METRICS_EVERY = 256

const END = Symbol("effect-supervisor/end")

/** Why a worker incarnation stopped serving. */
const Stop = { Done: 0, Crashed: 1, SiblingRestart: 2, Retired: 3 } as const
type Stop = typeof Stop[keyof typeof Stop]

interface Slot {
  readonly id: number
  readonly taker: Taker
  restartRequested: boolean
  /** resize shrank the supervisor: stop after the current task */
  retiring: boolean
  crash: WorkerCrashed | undefined
  chunk: Array<Entry<any>> | undefined
  index: number
  attempts: number
  completed: number
  /** the clock at the end of the task just run in this chunk; -1 between chunks */
  now: number
  /** successes awaiting the fold: value, task, value, task, … */
  fold: Array<unknown>
  /** outcomes awaiting publication to `outcomes` subscribers */
  publish: Array<Outcome.Outcome<any, any, any>> | undefined
  /** outcomes recorded in this chunk, not yet committed */
  uncommitted: number
}

const Phase = { Open: 0, Draining: 1, Stopped: 2 } as const
type Phase = typeof Phase[keyof typeof Phase]

type AnyOutcome = Outcome.Outcome<any, any, any>

/**
 * What a queue behind the supervisor (the durable one) plugs in.
 *
 * @internal
 */
export interface Hooks<T, A, E> {
  /** called once per accepted task, synchronously, when its one outcome is recorded */
  readonly onOutcome?: ((outcome: Outcome.Outcome<T, A, E>) => void) | undefined
}

/** @internal */
export const make = <T, A, E, R, S, Res>(
  options: Supervisor.Options<T, A, E, R, S, Res>,
  config: Normalized,
  hooks: Hooks<T, A, E> = {}
): Effect.Effect<Supervisor.Supervisor<T, A, E, S>, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const limiter = config.rateLimit === undefined
      ? undefined
      : yield* RateLimiter.make({
        limit: config.rateLimit.limit,
        interval: config.rateLimit.interval,
        algorithm: "token-bucket"
      })
    const state = yield* Ref.make(options.initial as S)
    const hub = yield* PubSub.unbounded<AnyOutcome | typeof END>()
    const idle = yield* Effect.makeLatch(true)
    const context = yield* Effect.context<R>()
    const impl = new SupervisorImpl<T, A, E, R, S, Res>(
      options,
      config,
      scope,
      clock,
      limiter,
      state,
      hub,
      idle,
      context,
      hooks
    )
    for (let i = 0; i < config.workers; i++) yield* impl.spawnWorker()
    yield* Effect.forkIn(impl.monitorEscalation, scope)
    yield* Effect.addFinalizer(() => impl.stopNow)
    return impl.api
  })

class SupervisorImpl<T, A, E, R, S, Res> {
  readonly queue: TaskQueue<T>
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
  running = 0
  /** outcomes committed since the metrics were last synced */
  unsynced = 0
  seq = 0
  nextWorkerId = 0
  /** accepted tasks whose outcome is not yet committed */
  outstanding = 0
  subscribers = 0
  phase: Phase = Phase.Open
  escalation: Escalated | undefined = undefined
  readonly failures: Array<Outcome.Failure<T, E> | Outcome.Defect<T>> = []
  readonly pending: Array<T> = []
  readonly slots: Array<Slot> = []
  readonly fibers: Array<Fiber.RuntimeFiber<void>> = []
  readonly restartTimes: Array<number> = []
  readonly metrics: Metrics
  readonly escalated = Deferred.unsafeMake<void>(FiberId.none)
  readonly stopped = Deferred.unsafeMake<Supervisor.Summary<T, A, E, S>, Escalated>(FiberId.none)
  readonly attempt: (task: T, resource: Res, slot: Slot) => Effect.Effect<A, E | TaskTimeout, R>
  readonly resource: Effect.Effect<Res, unknown, R | Scope.Scope>

  constructor(
    readonly options: Supervisor.Options<T, A, E, R, S, Res>,
    readonly config: Normalized,
    readonly scope: Scope.Scope,
    readonly clock: Clock.Clock,
    readonly limiter: RateLimiter.RateLimiter | undefined,
    readonly state: Ref.Ref<S>,
    readonly hub: PubSub.PubSub<AnyOutcome | typeof END>,
    readonly idle: Effect.Latch,
    readonly context: Context.Context<R>,
    readonly hooks: Hooks<T, A, E>
  ) {
    this.queue = options.key !== undefined || options.priority !== undefined
      ? new KeyedQueue(config.capacity, config.perKey)
      // "sliding" drops the oldest waiting task, so every waiting task must stay in the queue
      : new FifoQueue(config.capacity, config.strategy === "sliding" ? 1 : MAX_CHUNK)
    this.metrics = new Metrics(config.name)
    this.resource = (options.resource ?? Effect.void) as Effect.Effect<Res, unknown, R | Scope.Scope>
    this.attempt = this.makeAttempt()
  }

  // ---------------------------------------------------------------------------------------
  // one task: rate limit → timeout → retry → span
  // ---------------------------------------------------------------------------------------

  makeAttempt(): (task: T, resource: Res, slot: Slot) => Effect.Effect<A, E | TaskTimeout, R> {
    const { handler, retry } = this.options
    const { limiter } = this
    const timeout = this.config.timeout
    const counts = this.counts
    let once: (task: T, resource: Res) => Effect.Effect<A, E | TaskTimeout, R> = handler
    if (timeout !== undefined) {
      once = (task, resource) =>
        Effect.timeoutFail(handler(task, resource), {
          duration: timeout,
          onTimeout: () => {
            counts.timeouts++
            return new TaskTimeout({ task, timeout })
          }
        })
    }
    if (limiter !== undefined) {
      const timed = once
      // the permit is taken before the attempt's timeout starts
      once = (task, resource) => limiter(Effect.suspend(() => timed(task, resource)))
    }
    if (retry === undefined) {
      return (task, resource, slot) => {
        slot.attempts = 1
        return once(task, resource)
      }
    }
    const single = once
    return (task, resource, slot) => {
      slot.attempts = 0
      const counted = Effect.suspend(() => {
        slot.attempts++
        return single(task, resource)
      })
      return Effect.retry(counted, {
        schedule: retry,
        while: (error) => !(error instanceof WorkerCrashed)
      }) as Effect.Effect<A, E | TaskTimeout, R>
    }
  }

  /** Runs one task, records its outcome, then goes on with `next` (no extra step per task). */
  runTask<X>(
    slot: Slot,
    entry: Entry<T>,
    resource: Res,
    next: () => Effect.Effect<X, never, R>
  ): Effect.Effect<X, never, R> {
    // the previous task of this chunk just ended: its end time is this one's start time
    const startedAt = slot.now >= 0 ? slot.now : this.clock.unsafeCurrentTimeMillis()
    this.metrics.waiting.unsafeUpdate(startedAt - entry.enqueuedAt, [])
    let effect = this.attempt(entry.task, resource, slot)
    if (this.config.spans) {
      effect = Effect.withSpan(
        Effect.onExit(effect, () => Effect.annotateCurrentSpan("attempts", slot.attempts)),
        `${this.config.name}.task`,
        { attributes: { "supervisor.worker": slot.id } }
      )
    }
    if (entry.cancellable) {
      // a task with a handle runs in its own fiber, so `cancel` can interrupt it alone
      const own = effect
      effect = Effect.flatMap(Effect.fork(own), (fiber) => {
        entry.fiber = fiber
        return Fiber.join(fiber)
      })
    }
    return Effect.matchCauseEffect(effect, {
      onFailure: (cause) => {
        this.onTaskFailure(slot, entry, cause, startedAt)
        return next()
      },
      onSuccess: (value) => {
        this.onTaskSuccess(slot, entry, value, startedAt)
        return next()
      }
    })
  }

  /**
   * `record` for the common case, inlined: a success allocates no `Outcome` unless someone
   * awaits it or subscribes to `outcomes`, and its value waits in the chunk's fold buffer.
   */
  onTaskSuccess(slot: Slot, entry: Entry<T>, value: A, startedAt: number): void {
    this.finishRun(slot, entry, startedAt)
    if (entry.state === DONE) return
    entry.state = DONE
    this.counts.succeeded++
    slot.completed++
    slot.uncommitted++
    if (this.options.combine !== undefined) slot.fold.push(value, entry.task)
    if (entry.settle !== undefined || this.subscribers > 0 || this.hooks.onOutcome !== undefined) {
      const outcome = Outcome.success(entry.task, value, slot.attempts)
      this.hooks.onOutcome?.(outcome)
      entry.settle?.(outcome)
      if (this.subscribers > 0) (slot.publish ??= []).push(outcome)
    }
  }

  onTaskFailure(slot: Slot, entry: Entry<T>, cause: Cause.Cause<E | TaskTimeout>, startedAt: number): void {
    this.finishRun(slot, entry, startedAt)
    const failure = Cause.failureOption(cause)
    let outcome: AnyOutcome
    if (failure._tag === "Some") {
      const error = failure.value
      if (error instanceof WorkerCrashed) slot.crash = error
      outcome = Outcome.failure(entry.task, error, slot.attempts)
    } else if (Cause.isInterruptedOnly(cause)) {
      outcome = Outcome.interrupted(entry.task)
    } else {
      outcome = Outcome.defect(entry.task, Cause.squash(cause), cause)
    }
    this.record(entry, outcome, slot)
  }

  finishRun(slot: Slot, entry: Entry<T>, startedAt: number): void {
    this.running--
    entry.fiber = undefined
    this.queue.finished(entry)
    const now = this.clock.unsafeCurrentTimeMillis()
    slot.now = now
    this.metrics.duration.unsafeUpdate(now - startedAt, [])
    if (slot.attempts > 1) this.counts.retries += slot.attempts - 1
  }

  /**
   * Records the one outcome of an entry. With a slot, the outcome is committed with the
   * slot's chunk; without one it is committed at once.
   */
  record(entry: Entry<T>, outcome: AnyOutcome, slot?: Slot, neverStarted = false): void {
    if (entry.state === DONE) return
    entry.state = DONE
    switch (outcome._tag) {
      case "Success":
        this.counts.succeeded++
        break
      case "Failure":
        this.counts.failed++
        this.failures.push(outcome as Outcome.Failure<T, E>)
        break
      case "Defect":
        this.counts.defects++
        this.failures.push(outcome as Outcome.Defect<T>)
        break
      case "Interrupted":
        this.counts.interrupted++
        if (neverStarted) this.pending.push(entry.task)
        break
      case "Dropped":
        this.counts.dropped++
        this.pending.push(entry.task)
        break
    }
    this.hooks.onOutcome?.(outcome)
    entry.settle?.(outcome)
    if (slot !== undefined) {
      slot.uncommitted++
      if (this.subscribers > 0) (slot.publish ??= []).push(outcome)
    } else {
      if (this.subscribers > 0) this.hub.unsafeOffer(outcome)
      this.committed(1)
    }
  }

  committed(n: number): void {
    this.outstanding -= n
    if (this.outstanding === 0) this.idle.unsafeOpen()
  }

  /**
   * Applies a slot's chunk: one fold update, one publication. Metrics are synced every
   * `METRICS_EVERY` outcomes and whenever the supervisor goes idle (and on every `stats`
   * read), so they equal `stats` whenever anyone looks, without a sync per one-task chunk.
   */
  commit(slot: Slot): Effect.Effect<void> {
    const n = slot.uncommitted
    if (n === 0) return Effect.void
    slot.uncommitted = 0
    const fold = slot.fold
    const publish = slot.publish
    const finish = () => {
      this.committed(n)
      this.unsynced += n
      if (this.unsynced >= METRICS_EVERY || this.outstanding === 0) this.syncMetrics()
    }
    if (fold.length === 0 && publish === undefined) {
      finish()
      return Effect.void
    }
    slot.fold = []
    slot.publish = undefined
    const combine = this.options.combine!
    const update = fold.length === 0 ? Effect.void : Ref.update(this.state, (s) => {
      for (let i = 0; i < fold.length; i += 2) s = combine(s, fold[i] as A, fold[i + 1] as T)
      return s
    })
    const published = publish === undefined ? update : Effect.zipRight(update, PubSub.publishAll(this.hub, publish))
    return Effect.zipRight(published, Effect.sync(finish))
  }

  syncMetrics(): void {
    this.unsynced = 0
    this.metrics.sync(this.counts, this.queue.notStarted, this.running)
  }

  // ---------------------------------------------------------------------------------------
  // workers
  // ---------------------------------------------------------------------------------------

  /** Forks one more worker; it runs with the context the supervisor was made in. */
  spawnWorker(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const slot: Slot = {
        id: this.nextWorkerId++,
        taker: { resume: undefined },
        restartRequested: false,
        retiring: false,
        crash: undefined,
        chunk: undefined,
        index: 0,
        attempts: 0,
        completed: 0,
        now: -1,
        fold: [],
        publish: undefined,
        uncommitted: 0
      }
      this.slots.push(slot)
      return Effect.map(
        Effect.forkIn(
          Effect.provide(Effect.onInterrupt(this.worker(slot), () => this.abandonChunk(slot)), this.context),
          this.scope
        ),
        (fiber) => {
          this.fibers.push(fiber)
          fiber.addObserver(() => {
            const i = this.fibers.indexOf(fiber)
            if (i >= 0 && this.phase === Phase.Open) this.fibers.splice(i, 1)
          })
        }
      )
    })
  }

  /** A worker: incarnations of (acquire resource → serve) under the restart policy. */
  worker(slot: Slot): Effect.Effect<void, never, R> {
    return Effect.gen(this, function*() {
      const backoff = yield* Schedule.driver(this.config.restart.backoff)
      while (!slot.retiring) {
        slot.restartRequested = false
        slot.crash = undefined
        slot.completed = 0
        const exit = yield* Effect.exit(
          Effect.scoped(Effect.flatMap(this.resource, (resource) => this.serve(slot, resource)))
        )
        if (Exit.isSuccess(exit)) {
          if (exit.value === Stop.Done) return
          if (exit.value === Stop.Retired) break
          if (exit.value === Stop.SiblingRestart) continue
        }
        if (slot.completed > 0) yield* backoff.reset
        const cause: Cause.Cause<unknown> = Exit.isFailure(exit) ? exit.cause : Cause.fail(slot.crash)
        const gaveUp = yield* this.restart(slot, cause, backoff)
        if (gaveUp) return
      }
    })
  }

  /** Counts a restart, checks the intensity, waits the backoff; true when escalated. */
  restart(
    slot: Slot,
    cause: Cause.Cause<unknown>,
    backoff: Schedule.ScheduleDriver<unknown, unknown>
  ): Effect.Effect<boolean> {
    return Effect.suspend(() => {
      if (this.phase === Phase.Stopped || this.escalation !== undefined) return Effect.succeed(true)
      this.counts.restarts++
      this.syncMetrics()
      const now = this.clock.unsafeCurrentTimeMillis()
      const { maxRestarts, withinMillis, strategy } = this.config.restart
      this.restartTimes.push(now)
      while (this.restartTimes.length > 0 && this.restartTimes[0]! <= now - withinMillis) this.restartTimes.shift()
      if (this.restartTimes.length > maxRestarts) {
        this.escalate(cause)
        return Effect.succeed(true)
      }
      if (strategy === "one-for-all") {
        for (const other of this.slots) {
          if (other !== slot) {
            other.restartRequested = true
            this.queue.wake(other.taker)
          }
        }
      }
      return Effect.match(backoff.next(undefined), {
        onFailure: () => {
          this.escalate(cause)
          return true
        },
        onSuccess: () => false
      })
    })
  }

  escalate(cause: Cause.Cause<unknown>): void {
    if (this.escalation !== undefined || this.phase === Phase.Stopped) return
    this.escalation = new Escalated({ restarts: this.counts.restarts, cause })
    Deferred.unsafeDone(this.escalated, Exit.void)
  }

  get monitorEscalation(): Effect.Effect<void> {
    return Effect.zipRight(Deferred.await(this.escalated), this.stopNow)
  }

  chunkSize(): number {
    const max = this.queue.maxChunk
    if (max === 1) return 1
    const share = Math.ceil(this.queue.buffered / this.slots.length)
    return share > max ? max : share < 1 ? 1 : share
  }

  /**
   * Serves tasks with one resource until the queue is closed and empty, or a restart.
   *
   * Written as plain functions that hand each other the next effect (continuation style)
   * rather than `flatMap` chains: every run-loop op saved here is paid per task or per chunk.
   */
  serve(slot: Slot, resource: Res): Effect.Effect<Stop, never, R> {
    const next = (): Effect.Effect<Stop, never, R> => {
      if (slot.restartRequested) return Effect.succeed(Stop.SiblingRestart)
      if (slot.retiring) return Effect.succeed(Stop.Retired)
      const chunk = this.queue.take(this.chunkSize()) ?? (this.queue.paused ? undefined : this.steal(slot))
      if (chunk === undefined) {
        if (this.queue.closed) return Effect.succeed(Stop.Done)
        return Effect.flatMap(this.queue.awaitWork(slot.taker), next)
      }
      slot.chunk = chunk
      slot.now = -1
      slot.index = 0
      return this.runChunk(slot, resource, next)
    }
    return Effect.suspend(next)
  }

  /**
   * An idle worker takes the older half of the unstarted tasks another worker claimed, so a
   * chunk of slow tasks never waits behind one worker while another sits idle.
   */
  steal(thief: Slot): Array<Entry<T>> | undefined {
    let victim: Slot | undefined
    let most = 0
    for (const slot of this.slots) {
      const unstarted = slot === thief || slot.chunk === undefined ? 0 : slot.chunk.length - slot.index
      if (unstarted > most) {
        most = unstarted
        victim = slot
      }
    }
    if (victim === undefined) return undefined
    return victim.chunk!.splice(victim.index, Math.ceil(most / 2))
  }

  /** Runs a claimed chunk task by task, then goes on with `next` (or stops the incarnation). */
  runChunk(slot: Slot, resource: Res, next: () => Effect.Effect<Stop, never, R>): Effect.Effect<Stop, never, R> {
    const chunk = slot.chunk!
    let started = 0
    const step = (): Effect.Effect<Stop, never, R> => {
      if (slot.crash !== undefined || slot.restartRequested || slot.retiring || this.queue.paused) {
        // stop starting this chunk: its unstarted tasks go back to the queue
        const stop = slot.crash !== undefined
          ? Stop.Crashed
          : slot.restartRequested
          ? Stop.SiblingRestart
          : slot.retiring
          ? Stop.Retired
          : undefined
        const unstarted: Array<Entry<T>> = []
        for (let i = slot.index; i < chunk.length; i++) {
          const entry = chunk[i]!
          if (entry.state === QUEUED) unstarted.push(entry)
          else this.queue.finished(entry) // cancelled after it was claimed
        }
        this.queue.pushFront(unstarted)
        slot.chunk = undefined
        return Effect.flatMap(this.commit(slot), () => stop === undefined ? next() : Effect.succeed(stop))
      }
      while (slot.index < chunk.length) {
        const entry = chunk[slot.index++]!
        if (entry.caller !== undefined && entry.caller.unsafePoll() !== null) this.cancelQueued(entry)
        if (entry.state !== QUEUED) {
          this.queue.finished(entry) // cancelled after it was claimed
          continue
        }
        entry.state = RUNNING
        this.queue.release()
        this.running++
        started++
        return this.runTask(slot, entry, resource, step)
      }
      slot.chunk = undefined
      const committed = this.commit(slot)
      // a chunk whose tasks were all cancelled ran nothing: suspend rather than recurse
      if (committed === Effect.void) return started > 0 ? next() : Effect.suspend(next)
      return Effect.flatMap(committed, next)
    }
    return step()
  }

  /** The worker was interrupted: settle what it held, commit what it recorded. */
  abandonChunk(slot: Slot): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.queue.forget(slot.taker)
      const chunk = slot.chunk
      slot.chunk = undefined
      if (chunk !== undefined) {
        for (let i = 0; i < chunk.length; i++) {
          const entry = chunk[i]!
          if (entry.state === RUNNING) {
            this.running--
            this.queue.finished(entry)
            this.record(entry, Outcome.interrupted(entry.task), slot)
          } else if (entry.state === QUEUED) {
            this.queue.release()
            this.queue.finished(entry)
            this.record(entry, Outcome.interrupted(entry.task), slot, true)
          }
        }
      }
      return this.commit(slot)
    })
  }

  // ---------------------------------------------------------------------------------------
  // admission
  // ---------------------------------------------------------------------------------------

  entry(task: T): Entry<T> {
    const { key, priority } = this.options
    return {
      task,
      state: QUEUED,
      enqueuedAt: this.clock.unsafeCurrentTimeMillis(),
      settle: undefined,
      key: key === undefined ? "" : key(task),
      priority: priority === undefined ? 0 : priority(task),
      seq: this.seq++,
      cancellable: false,
      fiber: undefined,
      caller: undefined
    }
  }

  accept(entry: Entry<T>): void {
    this.counts.submitted++
    if (this.outstanding++ === 0) this.idle.unsafeClose()
    this.queue.push(entry)
  }

  /** Accepts and at once drops (a full "dropping" queue). */
  acceptDropped(entry: Entry<T>): void {
    this.counts.submitted++
    if (this.outstanding++ === 0) this.idle.unsafeClose()
    this.record(entry, Outcome.dropped(entry.task))
  }

  /** Makes room in a full "sliding" queue by dropping the oldest waiting task. */
  slide(): void {
    while (!this.queue.hasRoom) {
      const oldest = this.queue.evictOldest()
      if (oldest === undefined) return
      if (oldest.state === QUEUED) this.record(oldest, Outcome.dropped(oldest.task))
    }
  }

  /** Tries to admit without suspending: true when accepted (possibly as Dropped). */
  tryAdmit(entry: Entry<T>, dropWhenFull: boolean): boolean {
    if (this.queue.hasRoom) {
      this.accept(entry)
      return true
    }
    switch (this.config.strategy) {
      case "suspend":
        return false
      case "dropping":
        if (!dropWhenFull) return false
        this.acceptDropped(entry)
        return true
      case "sliding":
        this.slide()
        this.accept(entry)
        return true
    }
  }

  admit(entry: Entry<T>): Effect.Effect<void, SupervisorClosed> {
    return Effect.suspend(() => this.admitNow(entry))
  }

  /** Admits at once when it can (the common case: no extra suspension), else waits for room. */
  admitNow(entry: Entry<T>): Effect.Effect<void, SupervisorClosed> {
    if (this.phase !== Phase.Open) return Effect.fail(new SupervisorClosed())
    if (this.tryAdmit(entry, true)) return Effect.void
    return Effect.zipRight(this.queue.awaitSpace, this.admit(entry))
  }

  submitAll(tasks: Iterable<T>): Effect.Effect<void, SupervisorClosed> {
    return Effect.suspend(() => {
      const iterator = tasks[Symbol.iterator]()
      let next = iterator.next()
      const loop: Effect.Effect<void, SupervisorClosed> = Effect.suspend(() => {
        if (this.phase !== Phase.Open) return Effect.fail(new SupervisorClosed())
        while (next.done !== true) {
          if (!this.queue.hasRoom && this.config.strategy === "suspend") {
            return Effect.zipRight(this.queue.awaitSpace, loop)
          }
          this.tryAdmit(this.entry(next.value), true)
          next = iterator.next()
        }
        return Effect.void
      })
      return loop
    })
  }

  offer(task: T): Effect.Effect<boolean, SupervisorClosed> {
    return Effect.suspend(() => {
      if (this.phase !== Phase.Open) return Effect.fail(new SupervisorClosed())
      return Effect.succeed(this.tryAdmit(this.entry(task), false))
    })
  }

  execute(task: T): Effect.Effect<A, E | TaskError> {
    return Effect.withFiberRuntime((caller) => {
      const entry = this.entry(task)
      // Cheap on purpose, measured: a callback on the entry rather than a Deferred (which
      // copies the Effect prototype into every instance), and no canceler on the wait (an
      // `onInterrupt` wrapper per call). An interrupted caller is noticed when a worker is
      // about to start the task: its fiber is done, so the task ends Interrupted unstarted.
      entry.caller = caller
      let result: Exit.Exit<A, E | TaskError> | undefined
      let resume: ((exit: Exit.Exit<A, E | TaskError>) => void) | undefined
      entry.settle = (outcome: AnyOutcome) => {
        result = outcomeToExit(outcome)
        resume?.(result)
      }
      const awaitOutcome = Effect.async<A, E | TaskError>((callback) => {
        if (result !== undefined) callback(result)
        else resume = callback
      })
      const admitted = this.admitNow(entry)
      return admitted === Effect.void ? awaitOutcome : Effect.zipRight(admitted, awaitOutcome)
    })
  }

  /** Cancels a task that has not started; false when it already started or ended. */
  cancelQueued(entry: Entry<T>): boolean {
    if (entry.state !== QUEUED) return false
    this.queue.release()
    this.record(entry, Outcome.interrupted(entry.task))
    return true
  }

  submitWithHandle(task: T): Effect.Effect<Supervisor.TaskHandle<T, A, E>, SupervisorClosed> {
    return Effect.suspend(() => {
      const entry = this.entry(task)
      entry.cancellable = true
      const done = Deferred.unsafeMake<Outcome.Outcome<T, A, E>>(FiberId.none)
      entry.settle = (outcome: Outcome.Outcome<T, A, E>) => Deferred.unsafeDone(done, Effect.succeed(outcome))
      const cancel = Effect.suspend(() => {
        if (this.cancelQueued(entry)) return Effect.void
        const fiber = entry.fiber
        if (entry.state === RUNNING && fiber !== undefined) {
          return Effect.zipRight(Fiber.interrupt(fiber), Deferred.await(done))
        }
        return Effect.void
      })
      const handle: Supervisor.TaskHandle<T, A, E> = {
        task,
        await: Deferred.await(done),
        cancel: Effect.asVoid(cancel)
      }
      return Effect.as(this.admit(entry), handle)
    })
  }

  resize(workers: number): Effect.Effect<void, InvalidOptions> {
    return Effect.suspend(() => {
      const invalid = validateWorkers(workers)
      if (invalid !== undefined) return Effect.fail(invalid)
      if (this.phase !== Phase.Open) return Effect.void
      const current = this.slots.length
      if (workers > current) {
        return Effect.asVoid(Effect.replicateEffect(this.spawnWorker(), workers - current))
      }
      // retire idle workers first; busy ones stop after their current task
      const idleFirst = [
        ...this.slots.filter((slot) => slot.chunk === undefined),
        ...this.slots.filter((slot) => slot.chunk !== undefined)
      ]
      for (const slot of idleFirst.slice(0, current - workers)) {
        slot.retiring = true
        this.slots.splice(this.slots.indexOf(slot), 1)
        this.queue.wake(slot.taker)
      }
      return Effect.void
    })
  }

  get pause(): Effect.Effect<void> {
    return Effect.sync(() => this.queue.pause())
  }

  get resume(): Effect.Effect<void> {
    return Effect.sync(() => this.queue.resume())
  }

  pauseKey(key: string): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.queue instanceof KeyedQueue) this.queue.pauseKey(key)
    })
  }

  resumeKey(key: string): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.queue instanceof KeyedQueue) this.queue.resumeKey(key)
    })
  }

  // ---------------------------------------------------------------------------------------
  // shutdown
  // ---------------------------------------------------------------------------------------

  get shutdown(): Effect.Effect<Supervisor.Summary<T, A, E, S>, Escalated> {
    return Effect.suspend(() => {
      if (this.phase === Phase.Open) {
        this.phase = Phase.Draining
        this.queue.close()
        // draining needs every queued task to start: a graceful shutdown lifts pauses
        this.queue.resume()
        if (this.queue instanceof KeyedQueue) this.queue.resumeAllKeys()
        const drain = Effect.zipRight(Fiber.awaitAll(this.fibers), this.finish)
        // forked into the supervisor's scope: the drain goes on if this caller is interrupted
        return Effect.zipRight(Effect.forkIn(drain, this.scope), Deferred.await(this.stopped))
      }
      return Deferred.await(this.stopped)
    })
  }

  get stopNow(): Effect.Effect<void> {
    return Effect.uninterruptible(Effect.suspend(() => {
      if (this.phase === Phase.Stopped) return Effect.void
      this.phase = Phase.Draining
      this.queue.close()
      return Effect.zipRight(Fiber.interruptAll(this.fibers), this.finish)
    }))
  }

  get shutdownNow(): Effect.Effect<Supervisor.Summary<T, A, E, S>, Escalated> {
    return Effect.zipRight(this.stopNow, Deferred.await(this.stopped))
  }

  get finish(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.phase === Phase.Stopped) return Effect.void
      this.phase = Phase.Stopped
      // nothing may stay queued without an outcome once the supervisor has stopped
      for (const entry of this.queue.drain()) this.record(entry, Outcome.interrupted(entry.task), undefined, true)
      this.syncMetrics()
      this.idle.unsafeOpen()
      return Effect.flatMap(this.summary, (summary) =>
        Effect.zipRight(
          PubSub.publish(this.hub, END),
          Deferred.complete(
            this.stopped,
            this.escalation === undefined ? Effect.succeed(summary) : Effect.fail(this.escalation)
          )
        ))
    })
  }

  get stats(): Effect.Effect<Supervisor.Stats> {
    return Effect.sync(() => {
      this.syncMetrics()
      const c = this.counts
      return {
        submitted: c.submitted,
        queued: this.queue.notStarted,
        running: this.running,
        succeeded: c.succeeded,
        failed: c.failed,
        defects: c.defects,
        interrupted: c.interrupted,
        dropped: c.dropped,
        restarts: c.restarts,
        timeouts: c.timeouts,
        retries: c.retries,
        paused: this.phase === Phase.Stopped ? 0 : this.queue.heldByPause(),
        workers: this.slots.length
      }
    })
  }

  get summary(): Effect.Effect<Supervisor.Summary<T, A, E, S>> {
    return Effect.zipWith(Ref.get(this.state), this.stats, (state, stats) => ({
      state,
      stats,
      failures: this.failures.slice(),
      pending: this.pending.slice()
    }))
  }

  get outcomes(): Stream.Stream<Outcome.Outcome<T, A, E>> {
    return Stream.unwrapScoped(Effect.suspend(() => {
      if (this.phase === Phase.Stopped) return Effect.succeed(Stream.empty)
      return Effect.map(
        Effect.acquireRelease(
          Effect.tap(PubSub.subscribe(this.hub), () => {
            this.subscribers++
          }),
          () =>
            Effect.sync(() => {
              this.subscribers--
            })
        ),
        (subscription) =>
          Stream.fromQueue(subscription as Queue.Dequeue<AnyOutcome | typeof END>).pipe(
            Stream.takeWhile((item): item is AnyOutcome => item !== END)
          )
      )
    }))
  }

  get awaitIdle(): Effect.Effect<void, Escalated> {
    return Effect.zipRight(
      this.idle.await,
      Effect.suspend(() => this.escalation === undefined ? Effect.void : Effect.fail(this.escalation))
    )
  }

  get api(): Supervisor.Supervisor<T, A, E, S> {
    return {
      submit: (task) => this.admit(this.entry(task)),
      submitAll: (tasks) => this.submitAll(tasks),
      submitStream: (tasks) => Stream.runForEachChunk(tasks, (chunk) => this.submitAll(chunk)),
      offer: (task) => this.offer(task),
      execute: (task) => this.execute(task),
      submitWithHandle: (task) => this.submitWithHandle(task),
      pause: this.pause,
      resume: this.resume,
      pauseKey: (key) => this.pauseKey(key),
      resumeKey: (key) => this.resumeKey(key),
      resize: (workers) => this.resize(workers),
      awaitIdle: this.awaitIdle,
      state: Ref.get(this.state),
      stats: this.stats,
      outcomes: this.outcomes,
      shutdown: this.shutdown,
      shutdownNow: this.shutdownNow
    }
  }
}

const outcomeToExit = <A, E>(outcome: Outcome.Outcome<unknown, A, E>): Exit.Exit<A, E | TaskError> => {
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

/**
 * A durable consumer: a claimer fiber claims batches from the store and hands the jobs to an
 * in-process supervisor; the supervisor's `onOutcome` hook feeds a batching acker; a renewer
 * extends the lease of every held job every lease/3 and drops the ones it lost.
 *
 * A job is "held" from its claim until its settlement commits (or it is dropped). It is never
 * started past its local deadline: the clock read before the claim (or the last renewal that
 * returned it) was sent, plus the lease.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { InvalidOptions, TaskTimeout, WorkerCrashed } from "../../Errors.js"
import type * as Outcome from "../../Outcome.js"
import type * as Supervisor from "../../Supervisor.js"
import { Deadlines, runOwn } from "../deadlines.js"
import { effectOf } from "../handlerResult.js"
import { evaluate, NOT_IMMEDIATE, thrown } from "../immediate.js"
import { isDurationInput, validate, validateRetry } from "../options.js"
import { make as makeSupervisor } from "../supervisor.js"
import * as Codec from "./codec.js"
import type {
  ClaimedJob,
  Consumer,
  ConsumerOptions,
  ConsumerStats,
  JobContext,
  JobError,
  Settlement,
  StoreService
} from "./protocol.js"
import { Status, Store } from "./protocol.js"
import { nextDelay } from "./retry.js"

/**
 * at most this many jobs per claim statement (250 against 100: PostgreSQL end to end 1.35-1.47x
 * per round, SQLite 0.87-1.27x; 500 with MAX_BUFFER 1024 against 250 with 256: SQLite
 * 23,007 -> 30,595 jobs/s, PostgreSQL 18,727 -> 22,258; measured with bench/durable)
 */
const CLAIM_BATCH = 500
/** the adaptive prefetch aims to hold this much work (ms of handler time) beyond the workers */
const PREFETCH_WINDOW_MILLIS = 100
/**
 * the adaptive prefetch never holds more than this many unstarted jobs: with fast jobs, enough
 * to keep the workers busy through the next claim's round trip on a loaded database (256 ran
 * dry waiting for claims; 2,048 with claims of 1,000 measured the same as 1,024)
 */
const MAX_BUFFER = 1024
/** finished rows past retention are deleted this often, this many per statement */
const CLEANUP_EVERY = Duration.minutes(1)
const CLEANUP_BATCH = 1000

class Held<T> {
  started = false
  /** lease lost, cancelled, or past its deadline while running: its outcome is not written */
  dropped = false
  /** reached a worker past its deadline: handed back (fenced) without running */
  expired = false
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  /**
   * its timeout ran out while the handler ran (neither ended nor dropped): the delivery ends as
   * a Timeout whatever the handler does after, as a timed attempt of a supervisor does
   */
  timedOut = false
  /** when its timeout runs out (ms, consumer clock) */
  timeoutAt = 0
  outcome: Outcome.Outcome<Held<T>, unknown, unknown> | undefined = undefined
  constructor(
    readonly id: string,
    readonly attempts: number,
    /** the job's own (stored when it was offered), not the queue definition's of today */
    readonly maxAttempts: number,
    readonly task: T,
    public deadline: number,
    /** why the job cannot run (its payload does not decode, its key throws): a dead letter at once */
    readonly poison: string | undefined,
    /** its key for the inner supervisor (computed once, here, where a throw is caught) */
    readonly key: string
  ) {}
}

/**
 * A user's value as text for a message: `String` throws for some (an object without a
 * prototype, or whose `toString` throws), and a message must never take the acker down.
 */
const text = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value)
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
}

/** a delivery's settlement in one literal (a base object spread per job: ~5% of a no-op job's CPU) */
const settled = (
  held: { readonly id: string; readonly attempts: number },
  status: Settlement["status"],
  result: string | null,
  error: string | null,
  delayMillis = 0,
  refund = false
): Settlement => ({ id: held.id, attempts: held.attempts, status, delayMillis, refund, result, error })

const selfInterrupted: JobError<never> = {
  _tag: "Defect",
  message: "the handler interrupted itself (Effect.interrupt)"
}

const check = (options: Record<string, unknown>): InvalidOptions | undefined => {
  const timeout = options.timeout
  if (
    timeout === undefined || !isDurationInput(timeout) ||
    Option.isNone(Option.filter(Duration.decodeUnknown(timeout), Duration.isFinite))
  ) {
    return new InvalidOptions({
      message: `timeout is required for a durable queue: a finite Duration input (e.g. "30 seconds"), got ${
        String(timeout)
      }`
    })
  }
  const retry = validateRetry(options.retry)
  if (retry !== undefined) return retry
  const prefetch = options.prefetch
  if (prefetch !== undefined && !(Number.isInteger(prefetch) && (prefetch as number) >= 0)) {
    return new InvalidOptions({ message: `prefetch must be an integer >= 0, got ${String(prefetch)}` })
  }
  const poll = options.pollInterval
  if (
    poll !== undefined &&
    !(isDurationInput(poll) &&
      Option.exists(Duration.decodeUnknown(poll), (d) => Duration.isFinite(d) && Duration.toMillis(d) >= 1))
  ) {
    return new InvalidOptions({
      message: `pollInterval must be a finite Duration input of at least 1 millis, got ${String(poll)}`
    })
  }
  return undefined
}

/** @internal */
export const make = <T, A, E, R>(
  options: ConsumerOptions<T, A, E, R>
): Effect.Effect<Consumer, InvalidOptions, R | Scope.Scope | Store> =>
  Effect.gen(this, function*() {
    const invalid = check(options as unknown as Record<string, unknown>)
    if (invalid !== undefined) return yield* invalid
    const store = yield* Store
    const queue = options.queue
    const keyOf = options.key ?? queue.key
    const consumer = new ConsumerImpl<T, A, E, R>(
      options,
      store,
      Codec.make(queue),
      yield* Effect.clock,
      `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
      keyOf,
      Runtime.runFork(yield* Effect.runtime<never>())
    )
    // no `timeout` here: the consumer times its jobs itself (see `timeoutLoop`)
    const innerOptions: Supervisor.Options<Held<T>, A, E | TaskTimeout, R> = {
      workers: options.workers,
      handler: (held) => consumer.run(held),
      capacity: Infinity,
      ...(keyOf === undefined ? {} : { key: (held: Held<T>) => held.key }),
      ...(options.perKey === undefined ? {} : { perKey: options.perKey }),
      ...(options.name === undefined ? {} : { name: options.name })
    }
    const config = yield* validate(innerOptions)
    consumer.supervisor = yield* makeSupervisor(innerOptions, config, {
      onOutcome: (outcome) => consumer.onOutcome(outcome),
      // the inner supervisor has no `timeout` to count: its stats and metric count ours
      timedOut: (failure) => failure.task.timedOut
    })
    yield* store.watch(queue.name, () => consumer.wake.unsafeOffer(undefined))
    consumer.claimer = yield* Effect.forkScoped(consumer.claimLoop)
    consumer.renewer = yield* Effect.forkScoped(consumer.renewLoop)
    consumer.acker = yield* Effect.forkScoped(consumer.ackLoop)
    yield* Effect.forkScoped(consumer.cleanupLoop)
    yield* Effect.forkScoped(consumer.deadlines.watchdog)
    // runs before the supervisor's own finalizer: unstarted jobs go back at once, acks flush
    yield* Effect.addFinalizer(() => consumer.stop(false))
    return consumer.api
  })

class ConsumerImpl<T, A, E, R> {
  supervisor!: Supervisor.Supervisor<Held<T>, A, E | TaskTimeout>
  claimer!: Fiber.RuntimeFiber<unknown>
  renewer!: Fiber.RuntimeFiber<unknown>
  acker!: Fiber.RuntimeFiber<unknown>
  readonly held = new Map<string, Held<T>>()
  /** held jobs without an outcome yet: these occupy workers or wait for one */
  active = 0
  running = 0
  readonly outcomes: Array<Held<T>> = []
  readonly wake = Effect.runSync(Queue.sliding<void>(1))
  readonly room = Effect.runSync(Queue.sliding<void>(1))
  readonly ackSignal = Effect.runSync(Queue.sliding<void>(1))
  /**
   * One store write of this consumer's leases at a time: a renewal and an acknowledgement
   * lock overlapping rows, in no common order, and on PostgreSQL (a pool of connections)
   * deadlocked each other; each then waited out `deadlock_timeout` (1 s) and one failed,
   * long enough for leases to run out and jobs to run twice.
   */
  readonly writes = Effect.unsafeMakeSemaphore(1)
  /** jobs whose handler did not return at once, timed by one watchdog (see deadlines.ts) */
  readonly deadlines: Deadlines<Held<T>>
  /** the claimer waits for `room`: the next outcome signals it */
  roomWanted = false
  /** `ackSignal` holds a signal the acker has not acted on yet */
  ackPending = false
  readonly timeout: Duration.Duration
  readonly timeoutMillis: number
  readonly leaseMillis: number
  readonly pollMillis: number
  readonly retry: Schedule.Schedule<unknown, E | TaskTimeout> | undefined
  /** moving averages (ms) that size the adaptive prefetch */
  claimMillis = 1
  handlerMillis: number | undefined = undefined
  /**
   * set when a stop that hands back begins: no job starts from then on. A claim in flight when
   * it began still lands its jobs, and a handler that completes without waiting would
   * otherwise run them before the stop reaches the workers
   */
  handingBack = false
  /**
   * set just before a stop interrupts the running jobs: an interruption from then on is the
   * consumer's own, so the job goes back with its attempt returned (a deploy never spends one)
   */
  interrupting = false
  /** the stop, once begun (see `stop`) */
  stopping: Fiber.RuntimeFiber<ConsumerStats> | undefined = undefined
  /** the stop begun is a drain, not yet taken over by a hand-back */
  draining = false
  readonly counts = {
    claimed: 0,
    succeeded: 0,
    retried: 0,
    dead: 0,
    handedBack: 0,
    dropped: 0,
    fenced: 0,
    timeouts: 0
  }

  constructor(
    readonly options: ConsumerOptions<T, A, E, R>,
    readonly store: StoreService,
    readonly codec: Codec.Codec<T, A, E>,
    readonly clock: { readonly unsafeCurrentTimeMillis: () => number },
    readonly owner: string,
    readonly keyOf: ((task: T) => string) | undefined,
    /** forks in the context the consumer was made in (its Clock, logger) */
    readonly runFork: <A>(effect: Effect.Effect<A>) => Fiber.RuntimeFiber<A>
  ) {
    this.deadlines = new Deadlines(clock)
    this.leaseMillis = options.queue.leaseMillis
    this.timeout = Duration.decode(options.timeout)
    this.timeoutMillis = Duration.toMillis(this.timeout)
    this.pollMillis = options.pollInterval === undefined ? 1000 : Duration.toMillis(options.pollInterval)
    this.retry = options.retry
  }

  /** the handler as the inner supervisor runs it */
  run(held: Held<T>): Effect.Effect<A, E | TaskTimeout, R> {
    return Effect.suspend(() => {
      if (held.dropped || this.handingBack) return Effect.interrupt
      const startedAt = this.clock.unsafeCurrentTimeMillis()
      if (startedAt >= held.deadline) {
        held.expired = true
        return Effect.interrupt
      }
      held.started = true
      this.running++
      const context: JobContext = { id: held.id, attempt: held.attempts, deadline: new Date(held.deadline) }
      // A `succeed` or `sync` handler runs here (see immediate.ts): it cannot wait, so nothing
      // could interrupt it halfway, and it needs no fiber of its own (one costs ~4 µs a job).
      let effect: Effect.Effect<A, E, R>
      let value: A | typeof NOT_IMMEDIATE
      try {
        effect = effectOf(this.options.handler(held.task, context))
        value = evaluate(effect)
      } catch (error) {
        this.ended(held, startedAt)
        return Effect.failCause(thrown(error))
      }
      if (value !== NOT_IMMEDIATE) {
        this.ended(held, startedAt)
        return Effect.succeed(value)
      }
      // its own fiber, so that a lost lease, a cancel or the timeout can interrupt this job alone
      held.timeoutAt = startedAt + this.timeoutMillis
      const run = runOwn(
        effect,
        (fiber) => {
          held.fiber = fiber
          this.deadlines.add(held)
        },
        (exit): Effect.Effect<A, E | TaskTimeout> =>
          held.timedOut ? Effect.fail(new TaskTimeout({ task: held.task, timeout: this.timeout })) : exit
      )
      // ended however it ends: an interrupted wait (a stop) never reaches `then`
      return Effect.ensuring(run, Effect.sync(() => this.ended(held, startedAt)))
    })
  }

  ended(held: Held<T>, startedAt: number): void {
    this.running--
    const took = this.clock.unsafeCurrentTimeMillis() - startedAt
    this.handlerMillis = this.handlerMillis === undefined ? took : this.handlerMillis * 0.9 + took * 0.1
  }

  onOutcome(outcome: Outcome.Outcome<Held<T>, A, E | TaskTimeout>): void {
    const held = outcome.task
    // the same test as the inner supervisor's `timedOut` hook: its stats and ours agree
    if (outcome._tag === "Failure" && held.timedOut) this.counts.timeouts++
    held.outcome = outcome
    held.fiber = undefined
    this.active--
    this.outcomes.push(held)
    this.signalAck()
    if (this.roomWanted) {
      this.roomWanted = false
      this.room.unsafeOffer(undefined)
    }
  }

  /** wakes the acker once per batch (an offer per outcome cost ~3% of a no-op job, measured) */
  signalAck(): void {
    if (this.ackPending) return
    this.ackPending = true
    this.ackSignal.unsafeOffer(undefined)
  }

  /** unstarted jobs to hold beyond the workers */
  buffer(): number {
    if (this.options.prefetch !== undefined) return this.options.prefetch
    const workers = this.options.workers
    if (this.handlerMillis === undefined) return workers
    // about PREFETCH_WINDOW of work plus two claim round trips: hundreds of fast jobs per claim,
    // but with jobs far slower than a claim about one job beyond the free workers
    const ahead = PREFETCH_WINDOW_MILLIS + 2 * this.claimMillis
    const wanted = Math.ceil((workers * ahead) / Math.max(this.handlerMillis, 0.01))
    return Math.min(MAX_BUFFER, Math.max(1, wanted))
  }

  get claimLoop(): Effect.Effect<never> {
    const queue = this.options.queue
    return Effect.gen(this, function*() {
      while (true) {
        const buffer = this.buffer()
        const room = this.options.workers + buffer - this.active
        if (room < Math.max(1, Math.ceil(buffer / 2))) {
          // set in the same step as the check: an outcome from now on signals `room`, and the
          // queue keeps that signal until the take below
          this.roomWanted = true
          yield* Queue.take(this.room)
          continue
        }
        const limit = Math.min(CLAIM_BATCH, room)
        const sentAt = this.clock.unsafeCurrentTimeMillis()
        // uninterruptible: the rows a claim took in the store must reach the held set, or a
        // shutdown arriving mid-claim would leave them leased until the lease runs out
        // instead of handing them back at once
        const claimed = yield* Effect.uninterruptible(Effect.either(Effect.flatMap(
          this.store.claim(queue.name, this.owner, limit, this.leaseMillis),
          (jobs) => {
            const took = this.clock.unsafeCurrentTimeMillis() - sentAt
            this.claimMillis = this.claimMillis * 0.8 + took * 0.2
            return Effect.as(jobs.length > 0 ? this.accept(jobs, sentAt + this.leaseMillis) : Effect.void, jobs)
          }
        )))
        if (claimed._tag === "Left") {
          yield* Effect.logWarning("durable claim failed; retrying", claimed.left)
          yield* Effect.sleep(Math.min(this.pollMillis, 1000))
          continue
        }
        if (claimed.right.length < limit) yield* this.idle
      }
    })
  }

  accept(jobs: ReadonlyArray<ClaimedJob>, deadline: number) {
    const fresh: Array<Held<T>> = []
    for (const job of jobs) {
      let task: T | undefined
      let poison: string | undefined
      let key = ""
      try {
        task = this.codec.decodeTask(job.payload)
      } catch (error) {
        poison = `payload does not decode: ${text(error)}`
      }
      if (poison === undefined && this.keyOf !== undefined) {
        try {
          key = this.keyOf(task as T)
        } catch (error) {
          poison = `its key function threw: ${text(error)}`
        }
      }
      const held = new Held<T>(job.id, job.attempts, job.maxAttempts, task as T, deadline, poison, key)
      // a job this consumer still holds came back: the store's lease on the older delivery ran
      // out (a renewal that failed for too long), so that delivery is over — end it here too
      const older = this.held.get(job.id)
      if (older !== undefined && !older.dropped) this.drop(older)
      this.held.set(job.id, held)
      this.counts.claimed++
      if (poison === undefined) {
        fresh.push(held)
        this.active++
      } else {
        this.outcomes.push(held)
        this.signalAck()
      }
    }
    return Effect.ignore(this.supervisor.submitAll(fresh))
  }

  /** nothing claimable: wait for a wake-up, the next due job, or the poll interval */
  get idle(): Effect.Effect<void> {
    return Effect.flatMap(
      Effect.orElseSucceed(this.store.nextDue(this.options.queue.name), () => undefined),
      (due) => {
        // at least 1 ms: a job due "now" that the claim did not get must not spin this loop
        const wait = due === undefined ? this.pollMillis : Math.min(this.pollMillis, Math.max(1, due))
        return Effect.raceFirst(Queue.take(this.wake), Effect.sleep(wait))
      }
    )
  }

  get renewLoop(): Effect.Effect<never> {
    const every = Math.max(1, Math.floor(this.leaseMillis / 3))
    return Effect.gen(this, function*() {
      while (true) {
        yield* Effect.sleep(every)
        yield* this.renewOnce
      }
    })
  }

  get renewOnce(): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const sent = [...this.held.values()].filter((held) => !held.dropped)
      if (sent.length > 0) {
        const sentAt = this.clock.unsafeCurrentTimeMillis()
        const renewed = yield* Effect.either(
          this.writes.withPermits(1)(
            this.store.renew(this.options.queue.name, this.owner, sent.map((held) => held.id), this.leaseMillis)
          )
        )
        if (renewed._tag === "Right") {
          const kept = new Map(renewed.right.map((row) => [row.id, row.attempts]))
          for (const held of sent) {
            if (kept.get(held.id) === held.attempts) held.deadline = sentAt + this.leaseMillis
            // not returned: cancelled, or the lease went to another consumer
            else if (this.held.get(held.id) === held) this.drop(held)
          }
        } else {
          yield* Effect.logWarning("durable lease renewal failed", renewed.left)
        }
      }
      // a running job whose lease could not be renewed in time must not run on past it
      const now = this.clock.unsafeCurrentTimeMillis()
      for (const held of this.held.values()) {
        if (held.started && held.outcome === undefined && !held.dropped && now >= held.deadline) this.drop(held)
      }
    })
  }

  drop(held: Held<T>): void {
    held.dropped = true
    this.counts.dropped++
    if (held.fiber !== undefined) Effect.runFork(Fiber.interrupt(held.fiber))
    if (held.outcome !== undefined) this.held.delete(held.id)
  }

  get ackLoop(): Effect.Effect<never> {
    return Effect.forever(Effect.zipRight(Queue.take(this.ackSignal), this.flushOnce))
  }

  /** writes the outcomes recorded so far in one batch; keeps them on failure for the next try */
  get flushOnce(): Effect.Effect<void> {
    return Effect.uninterruptible(Effect.suspend(() => {
      // outcomes recorded from here on signal the next flush
      this.ackPending = false
      if (this.outcomes.length === 0) return Effect.void
      const batch = this.outcomes.splice(0, this.outcomes.length)
      const written = Effect.flatMap(this.settlements(batch), (settlements) => {
        const write = settlements.map(([, settlement]) => settlement)
        return Effect.matchEffect(
          this.writes.withPermits(1)(this.store.settle(this.options.queue.name, this.owner, write)),
          {
            onFailure: (error) =>
              Effect.zipRight(
                Effect.sync(() => {
                  this.outcomes.unshift(...batch)
                  this.signalAck()
                }),
                Effect.zipRight(Effect.logWarning("durable acknowledgement failed; retrying", error), Effect.sleep(100))
              ),
            onSuccess: (won) =>
              Effect.sync(() => {
                const winners = new Set(won)
                let due = false
                for (const [held, settlement] of settlements) {
                  if (!winners.has(held.id)) this.counts.fenced++
                  else if (settlement.status === Status.Ok) this.counts.succeeded++
                  else if (settlement.status === Status.Dead) this.counts.dead++
                  else {
                    due = true
                    if (settlement.delayMillis > 0 || settlement.error !== null) this.counts.retried++
                    else this.counts.handedBack++
                  }
                }
                // the claimer may be asleep until a due time read while these jobs were leased:
                // it looks again (a retry in 10 ms runs in 10 ms, not at the next poll)
                if (due) this.wake.unsafeOffer(undefined)
                for (const held of batch) if (this.held.get(held.id) === held) this.held.delete(held.id)
              })
          }
        )
      })
      // A defect here must not end the acker (every job it held would stay leased, unwritten,
      // renewed for ever): the batch goes back and is tried again, loudly
      return Effect.catchAllDefect(written, (defect) =>
        Effect.zipRight(
          Effect.sync(() => {
            this.outcomes.unshift(...batch)
            this.signalAck()
          }),
          Effect.zipRight(Effect.logError("durable acknowledgement died; retrying", defect), Effect.sleep(100))
        ))
    }))
  }

  settlements(batch: ReadonlyArray<Held<T>>): Effect.Effect<Array<readonly [Held<T>, Settlement]>> {
    const out: Array<readonly [Held<T>, Settlement]> = []
    // only a retry's delay needs an effect (the schedule's step): the rest stays plain
    let delayed: Array<readonly [number, Effect.Effect<Settlement>]> | undefined
    const now = this.clock.unsafeCurrentTimeMillis()
    for (const held of batch) {
      if (held.dropped) continue
      let settlement: Settlement | Effect.Effect<Settlement>
      try {
        settlement = this.settlement(held, now)
      } catch (defect) {
        // a schema or schedule of the user's that throws: this job is dead, the batch goes on
        settlement = settled(held, Status.Dead, null, JSON.stringify({ _tag: "Defect", message: text(defect) }))
      }
      if (Effect.isEffect(settlement)) (delayed ??= []).push([out.length, settlement])
      out.push([held, settlement as Settlement])
    }
    if (delayed === undefined) return Effect.succeed(out)
    return Effect.as(
      Effect.forEach(delayed, ([i, settlement]) => Effect.map(settlement, (s) => void (out[i] = [out[i]![0], s])), {
        discard: true
      }),
      out
    )
  }

  settlement(held: Held<T>, now: number): Settlement | Effect.Effect<Settlement> {
    const dead = (error: JobError<E>): Settlement => settled(held, Status.Dead, null, this.codec.encodeError(error))
    if (held.poison !== undefined) return dead({ _tag: "Defect", message: held.poison })
    const outcome = held.outcome!
    switch (outcome._tag) {
      case "Success": {
        try {
          return settled(held, Status.Ok, this.codec.encodeResult(outcome.value as A), null)
        } catch (error) {
          return dead({ _tag: "Defect", message: `result does not encode: ${text(error)}` })
        }
      }
      case "Failure": {
        const error = outcome.error
        const jobError: JobError<E> = error instanceof TaskTimeout
          ? { _tag: "Timeout" }
          : error instanceof WorkerCrashed
          ? { _tag: "Defect", message: text(error.cause) }
          : { _tag: "Failure", error: error as E }
        let encoded: string
        try {
          encoded = this.codec.encodeError(jobError)
        } catch (cause) {
          return dead({ _tag: "Defect", message: `error does not encode: ${text(cause)}` })
        }
        if (this.retry === undefined || held.attempts >= held.maxAttempts) {
          return settled(held, Status.Dead, null, encoded)
        }
        return nextDelay(this.retry, error as E | TaskTimeout, held.attempts, now).pipe(
          Effect.map((delay): Settlement =>
            delay === undefined
              ? settled(held, Status.Dead, null, encoded)
              : settled(held, Status.Ready, null, encoded, delay)
          ),
          // a schedule whose step throws (a predicate with a bug): the job is dead, not the acker
          Effect.catchAllDefect((defect) =>
            Effect.succeed(dead({ _tag: "Defect", message: `retry died: ${text(defect)}` }))
          )
        )
      }
      case "Defect":
        return dead({ _tag: "Defect", message: text(outcome.defect) })
      case "Interrupted":
      case "Dropped":
        // Back at once, the attempt given back: this consumer chose to end the delivery,
        // unstarted (shutdown, or past its deadline) or interrupted by a stop. A process that
        // dies never gets here, so its deliveries still count (a job that kills its process
        // ends dead). A lost lease or a cancel drops the job (no settlement); what is left is
        // a handler that interrupted itself: the delivery counts, and says why it ended.
        if (!held.started || held.expired || this.interrupting) return settled(held, Status.Ready, null, null, 0, true)
        return settled(
          held,
          held.attempts >= held.maxAttempts ? Status.Dead : Status.Ready,
          null,
          this.codec.encodeError(selfInterrupted)
        )
    }
  }

  get cleanupLoop(): Effect.Effect<never> {
    const queue = this.options.queue
    return Effect.forever(
      Effect.zipRight(
        Effect.ignore(this.store.cleanup(queue.name, queue.retention, CLEANUP_BATCH)),
        Effect.sleep(CLEANUP_EVERY)
      )
    )
  }

  stats(): ConsumerStats {
    return { ...this.counts, held: this.held.size, running: this.running }
  }

  /**
   * Once: stop claiming, drain or hand back, flush the acknowledgements. The stop runs in a
   * fiber of its own, so a caller that is interrupted (a timeout around `shutdown`, a handler
   * that stops its own consumer) does not cut it short; each caller waits for it. A hand-back
   * asked for during a drain (`shutdownNow`, the scope closing) takes it over: running jobs
   * are interrupted and handed back.
   */
  stop(drain: boolean): Effect.Effect<ConsumerStats> {
    return Effect.suspend(() => {
      if (this.stopping === undefined) {
        this.draining = drain
        this.stopping = this.runFork(this.stopOnce(drain))
      } else if (!drain && this.draining) {
        this.draining = false
        this.handingBack = true
        this.interrupting = true
        // the drain waits in `supervisor.shutdown`: this ends it (interrupting what runs)
        return Effect.zipRight(Effect.ignore(this.supervisor.shutdownNow), Fiber.join(this.stopping))
      }
      return Fiber.join(this.stopping)
    })
  }

  private stopOnce(drain: boolean): Effect.Effect<ConsumerStats> {
    return Effect.gen(this, function*() {
      if (!drain) this.handingBack = true
      yield* Fiber.interrupt(this.claimer)
      if (!drain) this.interrupting = true
      yield* Effect.ignore(drain ? this.supervisor.shutdown : this.supervisor.shutdownNow)
      yield* Fiber.interrupt(this.acker)
      // Every outcome is recorded now. A failing store gets more tries while the leases this
      // consumer holds last (past them, the jobs are others' to run again anyway), at most 20:
      // a try can take as long as a connection's timeout
      const until = this.clock.unsafeCurrentTimeMillis() + this.leaseMillis
      for (
        let tries = 0;
        this.outcomes.length > 0 && tries < 20 && (tries === 0 || this.clock.unsafeCurrentTimeMillis() < until);
        tries++
      ) yield* this.flushOnce
      yield* Fiber.interrupt(this.renewer)
      return this.stats()
    })
  }

  readonly api: Consumer = {
    stats: Effect.sync(() => this.stats()),
    shutdown: Effect.suspend(() => this.stop(true)),
    shutdownNow: Effect.suspend(() => this.stop(false))
  }
}

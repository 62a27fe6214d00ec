/**
 * Workers: each is one fiber living through incarnations (acquire its resource → serve tasks →
 * restart or retire), taking chunks of entries from the queue and running them in a tight loop.
 *
 * Hand-back, the rule that keeps every task accounted for: whenever an incarnation ends — done,
 * crashed, restarted, retired or interrupted, whatever the cause holds — its unstarted claimed
 * entries go back to the front of the queue and the entry it was running gets its outcome
 * (`Interrupted`, and `pending` if its handler never ran), *before* its resource is released.
 *
 * Parking uses an event count: a worker notes `events` before it looks for work and parks only
 * if nothing happened since, so a wake-up that lands while it is on its way to park is never
 * lost (and an entry it cannot take yet — a key at its `perKey` limit — never makes it spin).
 *
 * Cost: the serve loop is written as plain functions handing each other the next effect
 * (continuation style) rather than `flatMap` chains: every run-loop op saved here is paid per
 * task. Idle and holding workers are kept in sets, so take, steal and park are O(1).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import type * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { type Escalated, type TaskError, TaskTimeout, WorkerCrashed } from "../Errors.js"
import * as Outcome from "../Outcome.js"
import type { Attempt, Runner } from "./attempt.js"
import { AttemptScope } from "./attemptScope.js"
import type { ChunkExit, ChunkRunner } from "./chunked.js"
import { chunkRunner, notStarted } from "./chunked.js"
import { evaluate, HANDED, NOT_IMMEDIATE, thrown } from "./immediate.js"
import { type Intensity, printed } from "./intensity.js"
import { type Ledger, outcomeToExit } from "./ledger.js"
import type { Lifecycle } from "./lifecycle.js"
import { ACTIVE, CLAIMED, type Entry, type TaskQueue } from "./queue/taskQueue.js"
import { WorkerInfo } from "./workerInfo.js"

/** Why an incarnation stopped serving. */
const Stop = { Done: 0, Crashed: 1, SiblingRestart: 2, Retired: 3 } as const
type Stop = typeof Stop[keyof typeof Stop]

/** A synchronous stretch longer than this yields to the event loop (timers, I/O). */
const EVENT_LOOP_SLICE_MS = 10
const PROBE_EVERY_MS = 2
/** About how much work (by measured task time) one chunk sent to a thread holds. */
const SENT_CHUNK_MS = 2
/** The most sync tasks that end in place between two clock reads (see `endInPlace`). */
const UNCLOCKED_MAX = 32

/** A task with a handle runs in its own fiber (`cancel` reaches it alone): not in a chunk. */
const hasHandles = <T>(chunk: ReadonlyArray<Entry<T>>, from: number): boolean => {
  for (let i = from; i < chunk.length; i++) if (chunk[i]!.handle !== undefined) return true
  return false
}

/** A chunk handed to its resource (see `flightOf`). */
interface Flight<T> {
  readonly entries: Array<Entry<T>>
  readonly tasks: ReadonlyArray<T>
  readonly onExit: ChunkExit
  /** when the entries started (`depart`) */
  startedAt: number
  /** when they were sent (`performance.now`) */
  sent: number
}

/** One worker. */
export interface Slot<T> extends Runner {
  /** set while parked */
  wake: (() => void) | undefined
  restartRequested: boolean
  /** resize shrank the supervisor: stop after the current task */
  retiring: boolean
  crash: WorkerCrashed | undefined
  chunk: Array<Entry<T>> | undefined
  /** the next entry of `chunk` to start */
  index: number
  /** the entry taken from the chunk and not yet recorded */
  active: Entry<T> | undefined
  /** the chunks handed to the resource and not yet waited for (see `sendChunk`) */
  readonly flights: Array<Array<Entry<T>>>
  /** entries of those chunks that the resource never began: they go back to the queue */
  readonly unstarted: Array<Entry<T>>
  /** a chunked resource's time per task, smoothed over its chunks (ms); -1: none measured yet */
  taskMs: number
  /** tasks completed by this incarnation */
  completed: number
  futile: number
  incarnation: number
  /** the clock's last read in this chunk (as its first task starts, then as tasks end); -1 between chunks */
  now: number
  /** sync tasks that ended in place since the clock was last read: their samples are pending */
  unclocked: number
  /** how many may end before the next read: doubles while the clock stands still (`endInPlace`) */
  every: number
  /** when `active` started */
  startedAt: number
  /** woken by `signal` and not yet looking for work (counted in `waking`) */
  woken: boolean
  /** never started: in `parked`, without a fiber (see `spawn`) */
  dormant: boolean
}

/** What workers need from the rest of the supervisor. */
export interface Environment<T, A, E, R, S, Res> {
  readonly queue: TaskQueue<T>
  readonly ledger: Ledger<T, A, E, S>
  readonly lifecycle: Lifecycle<any>
  readonly intensity: Intensity
  readonly attempt: Attempt<T, A, E, R, Res>
  /** undefined: the supervisor has no resource */
  readonly resource: Effect.Effect<Res, unknown, R | Scope.Scope> | undefined
  readonly context: Context.Context<R>
  readonly clock: { readonly unsafeCurrentTimeMillis: () => number }
  /** a claimed entry started (or was dropped from a chunk): its capacity slot is free */
  readonly released: () => void
  /** a started entry went back to the queue unstarted: it holds a capacity slot again */
  readonly reclaimed: () => void
  /** forks a worker's fiber from the supervisor's runtime */
  readonly fork: (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>
  /** the restart policy gave up */
  readonly escalate: (escalated: Escalated) => Effect.Effect<void>
  readonly foldChanged: () => boolean
  /** the handler hands whole chunks to its resource (see chunked.ts), if the resource can */
  readonly chunked: boolean
}

/** @internal */
export class Workers<T, A, E, R, S, Res> {
  /** current members (retiring workers leave at once; stopped ones stay counted) */
  readonly slots = new Set<Slot<T>>()
  /** every worker fiber still running, retiring ones included */
  readonly fibers = new Set<Fiber.RuntimeFiber<void>>()
  private readonly parked = new Set<Slot<T>>()
  /** workers holding unstarted claimed entries (steal victims) */
  private readonly holders = new Set<Slot<T>>()
  /** workers woken by `signal` on their way to the queue (see `signal`) */
  private waking = 0
  /**
   * The last task any worker ran finished in place (a sync attempt, see immediate.ts): it never
   * yields, so other workers could only take turns — waking them costs a wake-up and a park
   * each and spreads the queue into chunks of one (1,024 workers: ~3x the per-task cost of 8).
   * A task that goes through the run loop clears it and wakes helpers.
   */
  private inPlace = false
  /**
   * The worker running sync tasks in place right now (it ran the last one and has not parked,
   * suspended or stopped since): it takes what arrives at its next chunk, so `signal` wakes no
   * helper while `inPlace` holds. Without this, a producer refilling a bounded queue woke one
   * more parked worker per refill: a drain of 1M sync tasks woke all of 1,024 workers, which
   * then took turns (~1.5x the per-task cost of 8 workers).
   */
  private runningInPlace: Slot<T> | undefined = undefined
  /** the worker that parked last, if it still is (see `wakeOne`) */
  private lastParked: Slot<T> | undefined = undefined
  private nextId = 0
  /** bumped by everything that may make work available or a worker's state change */
  private events = 0
  paused = false
  /** a probe (a macrotask) is scheduled: it fires once the event loop gets a turn */
  private armed = false
  private armedAt = 0

  constructor(private readonly env: Environment<T, A, E, R, S, Res>) {}

  get size(): number {
    return this.slots.size
  }

  /**
   * Something a parked worker may use happened: wake one, unless one is already on its way.
   * A woken worker that finds more than it takes wakes two others (`next`), and so does each
   * of those, so a burst reaches n parked workers in ~log2(n) hops, not one wake-up per task:
   * with 1,024 workers and tiny tasks, a wake-up per task cost ~1.5 µs a task (measured).
   */
  signal(): void {
    this.events++
    if (this.waking === 0 && !(this.inPlace && this.runningInPlace !== undefined)) this.wakeOne()
  }

  /** `slot` no longer runs tasks in place (it parks, suspends or stops). */
  private leftPlace(slot: Slot<T>): void {
    if (this.runningInPlace === slot) this.runningInPlace = undefined
  }

  /** Wakes one parked worker, if any (O(1); no iterator when nobody is parked). */
  private wakeOne(): void {
    if (this.parked.size === 0) return
    // the worker that parked last first: its fiber is warm, where the oldest in `parked` is
    // often a dormant one that would start a fiber (a producer refilling a bounded queue that
    // one worker keeps emptying would otherwise start every dormant worker in turn)
    const last = this.lastParked
    this.lastParked = undefined
    if (last !== undefined && this.parked.has(last)) return this.wake(last)
    for (const slot of this.parked) return this.wake(slot)
  }

  private wake(slot: Slot<T>): void {
    this.unpark(slot)
    slot.woken = true
    this.waking++
  }

  /** `slot` stops running in place (it waits): helpers take the rest of its chunk and the queue. */
  private wakeHelpers(slot: Slot<T>): void {
    if (slot.index < (slot.chunk?.length ?? 0) || this.env.queue.size > 0) this.wakeTwo()
  }

  private wakeTwo(): void {
    this.wakeOne()
    this.wakeOne()
  }

  /** The worker woken by `signal` is looking for work now (or left): another may be woken. */
  private arrived(slot: Slot<T>): void {
    if (!slot.woken) return
    slot.woken = false
    this.waking--
  }

  /**
   * Wake every parked worker (close, resume, a key resumed, entries handed back). Dormant ones
   * stay dormant unless there is work: then one starts, and wakes more as it finds work.
   */
  broadcast(): void {
    this.events++
    for (const slot of this.parked) {
      if (!slot.dormant) this.unpark(slot)
    }
    if (this.env.queue.size > 0 && this.waking === 0) this.wakeOne()
  }

  private unpark(slot: Slot<T>): void {
    this.parked.delete(slot)
    if (slot.dormant) return this.launch(slot)
    const wake = slot.wake
    slot.wake = undefined
    wake?.()
  }

  /**
   * Adds one more worker. O(1). Without a resource a worker is dormant until it is first woken
   * (a slot in `parked`, no fiber): a supervisor with 100k workers starts in milliseconds and
   * holds a fiber only for each worker that has had work (a parked fiber is ~1 KB and ~30 µs
   * to start, measured). With a resource it starts at once: the resource is acquired at `make`.
   */
  readonly spawn: Effect.Effect<void> = Effect.suspend(() => {
    const slot: Slot<T> = {
      id: this.nextId++,
      scope: new AttemptScope(),
      attempts: 0,
      wake: undefined,
      restartRequested: false,
      retiring: false,
      crash: undefined,
      chunk: undefined,
      index: 0,
      active: undefined,
      flights: [],
      unstarted: [],
      taskMs: -1,
      completed: 0,
      futile: 0,
      incarnation: 0,
      now: -1,
      unclocked: 0,
      every: 1,
      startedAt: 0,
      woken: false,
      dormant: false
    }
    this.slots.add(slot)
    if (this.env.resource !== undefined) return Effect.sync(() => this.launch(slot))
    // work waiting, queued or claimed by busy workers (a resize while busy): it starts at once
    if (this.env.queue.size > 0 || this.holders.size > 0) return Effect.sync(() => this.launch(slot))
    slot.dormant = true
    this.parked.add(slot)
    return Effect.void
  })

  /** Starts a worker's fiber. */
  private launch(slot: Slot<T>): void {
    slot.dormant = false
    // A root fiber tracked in `fibers`, which every stop interrupts and awaits (cheaper than a
    // FiberSet entry per worker), forked from the supervisor's runtime (its services, FiberRefs
    // and Effect supervisor). It starts on the scheduler, not on this stack. Interruptible
    // explicitly: the supervisor is built under `uninterruptible`, which the runtime captured.
    // No `Effect.provide` around the worker's life: each incarnation sets its fiber's context
    // (see `incarnation`), which keeps no frame on the stack of a worker that lives for months.
    const fiber = this.env.fork(Effect.interruptible(this.incarnations(slot) as Effect.Effect<void>))
    this.fibers.add(fiber)
    fiber.addObserver(() => {
      this.fibers.delete(fiber)
      this.leftPlace(slot)
      this.parked.delete(slot)
      // a fiber interrupted before it began ran no `handBack`: a chunk handed to it by
      // `execute` goes back to the queue (a stop then hands it back as Interrupted)
      this.returnChunk(slot)
      this.holders.delete(slot)
      if (slot.woken) {
        this.arrived(slot)
        this.signal()
      }
    })
  }

  /** Shrinks to `n` workers: idle ones retire at once, busy ones after their current task. */
  retire(n: number): void {
    let excess = this.slots.size - n
    const busyLast = [...this.parked, ...[...this.slots].filter((slot) => !this.parked.has(slot))]
    for (const slot of busyLast) {
      if (excess-- <= 0) break
      slot.retiring = true
      this.slots.delete(slot)
      if (slot.dormant) this.parked.delete(slot) // it never started: nothing to stop
      else this.unpark(slot)
    }
    this.events++
  }

  /**
   * `execute`'s shortcut, enabled by the supervisor when attempts are bare (no resource,
   * timeout, retry, rate limit, span or key): with a worker parked and nothing waiting, the
   * caller makes the attempt on that worker's behalf, and a `succeed` or `sync` one gets its
   * outcome right here — no queue, no wake-up, no suspension of the caller (see immediate.ts).
   * It is synchronous, so at most `workers` tasks still run at once, and none waits behind it.
   * Any other attempt stays on the entry (`prepared`), handed straight to that worker as its
   * next chunk (`HANDED`: the caller counts it in and waits): the handler is called once
   * either way. Should that worker stop before it runs the attempt (a pause, a resize, a
   * restart), the task goes back to the queue as started: `"sliding"` passes over it
   * (`evictOldest`) and a stop records it `Interrupted`, not pending. The task's result when it
   * got its outcome.
   *
   * Cost: 8 callers of a sync handler, 8 workers: ~1 µs per `execute` instead of ~4.5.
   */
  runInPlace(entry: Entry<T>): Effect.Effect<A, E | TaskError> | typeof HANDED | undefined {
    if (this.paused || this.parked.size === 0 || this.env.queue.size > 0 || this.holders.size > 0) return undefined
    let slot: Slot<T> | undefined
    for (const parked of this.parked) {
      slot = parked
      break
    }
    const { attempt, clock, ledger } = this.env
    const effect = attempt(entry, undefined as Res, slot!)
    let value: A | typeof NOT_IMMEDIATE
    let cause: Cause.Cause<never> | undefined
    try {
      value = evaluate(effect)
    } catch (error) {
      value = NOT_IMMEDIATE
      cause = thrown(error)
    }
    if (value === NOT_IMMEDIATE && cause === undefined) {
      // the handler was called: stopped before the worker runs it, the task is not `pending`
      entry.prepared = effect
      entry.state = CLAIMED
      slot!.chunk = [entry]
      slot!.index = 0
      this.unpark(slot!)
      return HANDED
    }
    ledger.accept()
    ledger.take(entry)
    // it started when it was accepted: no wait, and its duration is since then
    ledger.metrics.waiting.update(0)
    ledger.metrics.duration.update(clock.unsafeCurrentTimeMillis() - entry.enqueuedAt)
    if (cause !== undefined) {
      const outcome = this.failureOutcome(slot!, entry, cause)
      ledger.record(entry, outcome, 1)
      return outcomeToExit(outcome)
    }
    slot!.completed++
    const unfolded = ledger.succeed(entry, value as A, 1)
    if (unfolded !== undefined) return outcomeToExit(unfolded)
    const exit = Exit.succeed(value as A)
    // the state `Ref` catches up, as at a worker's chunk end
    return this.env.foldChanged() ? Effect.zipRight(ledger.publishState, exit) : exit
  }

  /** Sends an interrupt to every worker fiber (without waiting). */
  interruptAll(): void {
    for (const fiber of this.fibers) fiber.unsafeInterruptAsFork(FiberId.none)
  }

  /** Waits until every worker fiber has ended, including any started (woken dormant) meanwhile. */
  readonly awaitAll: Effect.Effect<void> = Effect.suspend(() =>
    this.fibers.size === 0 ? Effect.void : Effect.zipRight(Fiber.awaitAll([...this.fibers]), this.awaitAll)
  )

  /** A worker's life: incarnations of (acquire resource → serve) under the restart policy. */
  private incarnations(slot: Slot<T>): Effect.Effect<void, never, R> {
    // R is met by the context each incarnation sets on the fiber
    const { intensity, lifecycle } = this.env
    const life = Effect.gen(this, function*() {
      // made at the first restart: most workers never restart, and a driver is a Ref and closures
      let backoff: Schedule.ScheduleDriver<unknown, unknown> | undefined
      while (!slot.retiring && !lifecycle.halting) {
        slot.restartRequested = false
        slot.crash = undefined
        slot.completed = 0
        const exit = yield* Effect.exit(this.incarnation(slot))
        if (Exit.isSuccess(exit)) {
          if (exit.value === Stop.Done || exit.value === Stop.Retired) return
          if (exit.value === Stop.SiblingRestart) continue
        }
        if (lifecycle.halting) return
        slot.incarnation++
        backoff ??= yield* intensity.driver
        if (slot.completed > 0) {
          slot.futile = 0
          yield* backoff.reset
        } else {
          slot.futile++
        }
        const cause: Cause.Cause<unknown> = Exit.isFailure(exit) ? exit.cause : Cause.fail(slot.crash)
        const escalated = yield* intensity.restart(slot, cause, backoff)
        // a restart reaches the metrics now: an idle supervisor in a crash loop has no outcome
        // that would sync them, and an alert on restarts must see it
        this.env.ledger.syncMetrics()
        if (escalated !== undefined) return yield* this.env.escalate(escalated)
      }
    })
    // a worker never ends silently: its waiters would wait forever on a supervisor one short
    return Effect.catchAllDefect(life, (defect) => Effect.flatMap(intensity.died(slot, defect), this.env.escalate))
  }

  /**
   * One incarnation: the resource in its own scope, tasks handed back before it is released.
   *
   * The worker's fiber is its own, so the context (the supervisor's services, `WorkerInfo`,
   * and `Scope`: the resource's scope while it is acquired, the attempt's scope while tasks
   * run) is set on it rather than provided: `Effect.provide` keeps frames on the stack for
   * the whole incarnation (~20 KB per idle worker with the old nesting, measured).
   */
  private incarnation(slot: Slot<T>): Effect.Effect<Stop, unknown, R> {
    const services = Context.add(
      this.env.context,
      WorkerInfo,
      WorkerInfo.of({ id: slot.id, incarnation: slot.incarnation })
    ) as Context.Context<unknown>
    const serving = FiberRef.set(FiberRef.currentContext, Context.add(services, Scope.Scope, slot.scope))
    // its Scope is the one set on the fiber just before it runs
    const acquire = this.env.resource as Effect.Effect<Res, unknown, R> | undefined
    if (acquire === undefined) {
      return Effect.onExit(
        Effect.zipRight(serving, this.serve(slot, undefined as Res)),
        (exit) => this.handBack(slot, exit)
      )
    }
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Scope.make(), (scope) =>
        Effect.onExit(
          restore(Effect.zipRight(
            FiberRef.set(FiberRef.currentContext, Context.add(services, Scope.Scope, scope)),
            Effect.flatMap(acquire, (resource) => Effect.zipRight(serving, this.serve(slot, resource)))
          )),
          (exit) => Effect.ensuring(this.handBack(slot, exit), this.release(slot, scope, exit))
        ))
    )
  }

  /**
   * Releases an incarnation's resource. A release that dies is logged, and changes nothing
   * else: it is no reason to restart (the worker was stopping, retiring or restarting anyway),
   * and a stop that ends normally must not become a crash (re-acquiring while it drains).
   */
  private release(slot: Slot<T>, scope: Scope.CloseableScope, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.catchAllCause(
      Scope.close(scope, exit),
      (cause) =>
        Effect.logWarning("effect-supervisor: a worker's resource release died").pipe(
          Effect.annotateLogs({ worker: slot.id, cause: printed(cause) })
        )
    )
  }

  /**
   * The incarnation ended: the entry it was running gets its outcome, its unstarted claimed
   * entries go back to the front of the queue (a stop then hands them back as `pending`), and
   * the current attempt's scope closes. Runs before the resource is released.
   */
  private handBack(slot: Slot<T>, exit: Exit.Exit<Stop, unknown>): Effect.Effect<void> {
    const { ledger, queue } = this.env
    this.leftPlace(slot)
    this.parked.delete(slot)
    slot.wake = undefined
    if (slot.woken) {
      // woken for work it will not take: pass the wake-up on
      this.arrived(slot)
      this.signal()
    }
    const active = slot.active
    slot.active = undefined
    for (const flight of slot.flights) {
      for (const entry of flight) {
        if (entry.state !== ACTIVE) continue
        queue.finished(entry)
        ledger.record(entry, Outcome.interrupted(entry.task), 1)
      }
    }
    slot.flights.length = 0
    this.returnChunk(slot)
    this.returnUnstarted(slot)
    // the running entry's outcome once its attempt's finalizers have run (as in `closeAttempt`)
    const closed = Effect.onExit(slot.scope.close(exit), (closing) =>
      Effect.sync(() => {
        if (active === undefined || active.state !== ACTIVE) return
        queue.finished(active)
        const outcome = Exit.isFailure(closing)
          ? Outcome.defect(active.task, Cause.squash(closing.cause), closing.cause)
          : Outcome.interrupted(active.task)
        ledger.record(active, outcome, slot.attempts, !active.started)
      }))
    return Effect.catchAllCause(closed, () => Effect.void)
  }

  /** Puts the entries a chunk's resource never began back in front, oldest first. */
  private returnUnstarted(slot: Slot<T>): void {
    if (slot.unstarted.length === 0) return
    this.pushBack(slot.unstarted.splice(0).sort((a, b) => a.seq - b.seq), 0)
  }

  /** Puts a chunk's unstarted entries back in front. */
  private returnChunk(slot: Slot<T>): void {
    const chunk = slot.chunk
    if (chunk === undefined) return
    slot.chunk = undefined
    this.holders.delete(slot)
    this.pushBack(chunk, slot.index)
  }

  /**
   * Puts `entries` from `from` on back in front, in their order: those still claimed. The
   * others were cancelled while this worker held them (their outcome is recorded): the queue
   * forgets them.
   */
  private pushBack(entries: ReadonlyArray<Entry<T>>, from: number): void {
    const { queue } = this.env
    const unstarted: Array<Entry<T>> = []
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i]!
      if (entry.state === CLAIMED) unstarted.push(entry)
      else queue.finished(entry)
    }
    if (unstarted.length > 0) {
      queue.pushFront(unstarted)
      this.broadcast()
    }
  }

  /**
   * A fair share of the queue for each worker that is awake and for the (up to) two parked ones
   * a taker wakes (`next`): parked workers are woken in that tree and steal from the chunks of
   * those awake, so dividing by them all would make every chunk one task when workers far
   * outnumber the queue. Sync tasks take whole chunks.
   */
  private chunkSize(): number {
    const max = this.env.queue.maxChunk
    // sync tasks never yield: a fair share buys no concurrency, only more chunks
    if (max === 1 || this.inPlace) return max
    const parked = this.parked.size
    const sharers = this.slots.size - parked + (parked < 2 ? parked : 2)
    const share = Math.ceil(this.env.queue.size / (sharers > 1 ? sharers : 1))
    return share > max ? max : share < 1 ? 1 : share
  }

  /**
   * A chunk sent to a resource cannot be stolen back: it holds about `SENT_CHUNK_MS` of work
   * (by the tasks' measured time), so two in flight keep a thread busy without leaving it
   * with a long tail while another thread idles. Tiny tasks still go 64 to a message; a task
   * of a millisecond or more goes alone. One task until a chunk has been measured.
   */
  private sentChunkSize(slot: Slot<T>): number {
    const share = this.chunkSize()
    if (slot.taskMs < 0) return 1
    const byTime = slot.taskMs > 0 ? Math.floor(SENT_CHUNK_MS / slot.taskMs) : share
    return byTime < 1 ? 1 : byTime < share ? byTime : share
  }

  /**
   * An idle worker takes the older half of the unstarted entries another worker claimed, so a
   * chunk of slow tasks never waits behind one worker while another sits idle. O(1).
   */
  private steal(thief: Slot<T>): Array<Entry<T>> | undefined {
    for (const victim of this.holders) {
      if (victim === thief) continue
      const chunk = victim.chunk!
      const unstarted = chunk.length - victim.index
      if (unstarted <= 0) {
        this.holders.delete(victim)
        continue
      }
      const stolen = chunk.splice(victim.index, Math.ceil(unstarted / 2))
      if (victim.index >= chunk.length) this.holders.delete(victim)
      return stolen
    }
    return undefined
  }

  /** Parks until an event since `seen` (none lost: see the module comment). */
  private park(slot: Slot<T>, seen: number): Effect.Effect<void> {
    // No canceler (one costs ~1–2 µs per wait on `Effect.async`): an interrupted worker
    // leaves `parked` in `handBack`, and a late wake-up of a finished fiber is ignored.
    return Effect.async<void>((resume) => {
      if (this.events !== seen) return resume(Effect.void)
      slot.wake = () => resume(Effect.void)
      this.parked.add(slot)
      this.lastParked = slot
    })
  }

  /** Serves tasks with one resource until there is nothing left to do, or a restart. */
  private serve(slot: Slot<T>, resource: Res): Effect.Effect<Stop, never, R> {
    const { ledger, lifecycle, queue } = this.env
    // `next` (find a chunk), `step` (start its next entry) and `ended` (record an attempt's end)
    // are made once per incarnation: a chunk is often one task (many workers, a short queue),
    // and closures per chunk cost as much as the task.
    let ran = false
    const run = this.env.chunked ? chunkRunner<T>(resource) : undefined
    const dead = chunkRunner<T>(resource)?.dead
    // the wait for the chunk sent before the current one: a chunked resource gets the next
    // chunk before the worker waits for the previous (two in flight, no idle round trip)
    let awaiting: Effect.Effect<void> | undefined
    const settled = (then: () => Effect.Effect<Stop, never, R>): Effect.Effect<Stop, never, R> => {
      const wait = awaiting!
      awaiting = undefined
      return Effect.zipRight(wait, Effect.suspend(then))
    }
    // Flights sent without an effect (`run.now`): each lands through a callback (the thread's
    // reply), which sends the next chunk itself while this fiber sleeps in `pipelined`. Waking
    // the fiber for every chunk cost the main thread a third of its CPU per reply (0.39–0.50 →
    // 0.24–0.31 ms, 1,000 × fib(28) on 2 threads), taken from the threads computing on the same
    // cores. A landing with nothing to send, or a stop to act on, wakes the fiber.
    let inFlight = 0
    let landings = 0
    let sleeper: (() => void) | undefined
    let interruptInFlight: Effect.Effect<void> = Effect.void
    /** what landings left for the fiber: replies decoded through an effect, a state to publish */
    const leftovers: Array<Effect.Effect<void>> = []
    /** the incarnation has to stop (crash, sibling restart, retire, halt): `step` acts on it */
    const stopping = () => slot.crash !== undefined || slot.restartRequested || slot.retiring || lifecycle.halting
    const sendNow = (flight: Flight<T>): boolean => {
      inFlight++
      const interrupt = run!.now(flight.tasks, flight.onExit, () => this.depart(slot, flight), (later) => {
        // replies still to decode in the fiber: the flight stays in `flights` until they are,
        // so an interruption meanwhile hands its entries back
        if (later === undefined) this.landed(slot, flight)
        else leftovers.push(Effect.zipRight(later, Effect.sync(() => this.landed(slot, flight))))
        inFlight--
        landings++
        const wake = sleeper
        if (wake === undefined) return // the fiber is running: it looks at the flights itself
        sleeper = undefined
        if (this.env.foldChanged() && !ledger.publishNow()) leftovers.push(ledger.publishState)
        while (leftovers.length === 0 && inFlight < 2 && refill());
        if (inFlight > 0 && leftovers.length === 0 && slot.chunk === undefined && !stopping()) sleeper = wake
        else wake()
      })
      if (interrupt === undefined) {
        inFlight--
        return false
      }
      interruptInFlight = interrupt
      return true
    }
    // From a landing: the next chunk goes out at once; false when the fiber has to look (no
    // task, a stop, a task with a handle, a chunk that cannot be sent without an effect)
    const refill = (): boolean => {
      if (stopping() || this.paused || slot.chunk !== undefined) return false
      const chunk = queue.take(this.sentChunkSize(slot))
      if (chunk === undefined || chunk.length === 0) return false
      if (!this.inPlace && (chunk.length > 1 || queue.size > 0)) this.wakeTwo()
      if (hasHandles(chunk, 0)) {
        slot.chunk = chunk
        slot.index = 0
        return false
      }
      slot.index = 0
      const flight = this.flightOf(slot, chunk)
      if (flight === undefined || sendNow(flight)) return true
      // still claimed, never started: back in front, for the fiber (or another worker) to send
      queue.pushFront(flight.entries)
      this.broadcast()
      return false
    }
    // Sleeps until a landing needs the fiber; interrupted, every task in flight is interrupted
    // on its thread (as an interrupted wait of `run.run` does) and `handBack` records them.
    const pipelined = (then: () => Effect.Effect<Stop, never, R>): Effect.Effect<Stop, never, R> => {
      const seen = landings
      return Effect.flatMap(
        Effect.async<void>((resume) => {
          if (landings !== seen || leftovers.length > 0 || inFlight === 0) return resume(Effect.void)
          sleeper = () => resume(Effect.void)
          return Effect.suspend(() => {
            sleeper = undefined
            return interruptInFlight
          })
        }),
        () =>
          leftovers.length === 0
            ? then()
            : Effect.zipRight(Effect.all(leftovers.splice(0), { discard: true }), Effect.suspend(then))
      )
    }
    const next = (): Effect.Effect<Stop, never, R> => {
      if (awaiting !== undefined && (slot.restartRequested || slot.retiring || lifecycle.halting)) {
        return settled(next)
      }
      if (leftovers.length > 0 || (inFlight > 0 && (slot.restartRequested || slot.retiring || lifecycle.halting))) {
        return pipelined(next)
      }
      if (slot.restartRequested) return Effect.succeed(Stop.SiblingRestart)
      if (slot.retiring) return Effect.succeed(Stop.Retired)
      if (lifecycle.halting) return Effect.succeed(Stop.Done)
      // two flights out: the landings send the next ones
      if (inFlight >= 2 && slot.chunk === undefined) return pipelined(next)
      this.arrived(slot)
      const seen = this.events
      // a chunk handed over by `execute` (see `runInPlace`), or one from the queue
      const chunk = slot.chunk ??
        (this.paused
          ? undefined
          : queue.take(run === undefined ? this.chunkSize() : this.sentChunkSize(slot)) ?? this.steal(slot))
      if (chunk === undefined || chunk.length === 0) {
        // nothing to send: wait for what is in flight, then look again
        if (awaiting !== undefined) return settled(next)
        if (inFlight > 0) return pipelined(next)
        // draining and nothing left that any worker could take: this worker is done
        if (!lifecycle.isOpen && queue.size === 0 && this.holders.size === 0) {
          // the others may be parked behind a key limit that no longer matters: they are done too
          this.broadcast()
          return Effect.succeed(Stop.Done)
        }
        this.leftPlace(slot)
        return Effect.flatMap(this.park(slot, seen), next)
      }
      slot.chunk = chunk
      slot.index = 0
      slot.now = -1
      ran = false
      if (chunk.length > 1 && run === undefined) this.holders.add(slot)
      // more than this worker starts now: wake two more (they take from the queue, or steal;
      // each of them wakes two in turn), so a burst reaches every parked worker in log2 hops
      if (!this.inPlace && (chunk.length > 1 || queue.size > 0)) this.wakeTwo()
      return step()
    }
    const step = (): Effect.Effect<Stop, never, R> => {
      // a thief may shorten the chunk in place (`steal`), never replace it
      const chunk = slot.chunk!
      while (true) {
        if (stopping() || this.paused) {
          this.clockOut(slot)
          if (awaiting !== undefined) return settled(step)
          if (inFlight > 0 || leftovers.length > 0) return pipelined(step)
          this.returnChunk(slot)
          return slot.crash !== undefined ? Effect.succeed(Stop.Crashed) : next()
        }
        if (slot.index >= chunk.length) break
        if (run !== undefined && !hasHandles(chunk, slot.index)) {
          this.clockOut(slot)
          ran = true
          const flight = this.flightOf(slot, chunk)
          if (flight === undefined || sendNow(flight)) continue
          return Effect.flatMap(this.sendChunk(slot, run, flight), (wait) => {
            const previous = awaiting
            awaiting = wait
            return previous === undefined ? step() : Effect.zipRight(previous, Effect.suspend(step))
          })
        }
        if (run !== undefined && (awaiting !== undefined || inFlight > 0 || leftovers.length > 0)) {
          // sent on its own (a task with a handle): once the chunks sent before it have landed,
          // as the thread runs one task at a time
          this.clockOut(slot)
          return awaiting !== undefined ? settled(step) : pipelined(step)
        }
        const entry = chunk[slot.index++]!
        if (entry.state !== CLAIMED) {
          queue.finished(entry) // cancelled after it was claimed
          continue
        }
        const died = dead?.()
        if (died !== undefined) {
          // its thread died while idle: the task never began, it goes back with the rest of the
          // chunk (`stopping` now holds) and the worker restarts
          slot.crash = died
          slot.index--
          continue
        }
        ran = true
        slot.active = entry
        slot.startedAt = this.begin(slot, entry)
        const attempt = this.attemptOf(entry, resource, slot)
        // a `succeed` or `sync` attempt runs here, not through the run loop (see immediate.ts)
        let value: A | typeof NOT_IMMEDIATE
        try {
          value = evaluate(attempt)
        } catch (error) {
          return ended.onFailure(thrown(error))
        }
        if (value === NOT_IMMEDIATE) {
          // its duration starts at the read that takes the pending samples
          if (this.clockOut(slot)) slot.startedAt = slot.now
          this.leftPlace(slot)
          if (this.inPlace) {
            this.inPlace = false
            this.wakeHelpers(slot)
          }
          return Effect.matchCauseEffect(attempt, ended)
        }
        this.inPlace = true
        this.runningInPlace = slot
        if (slot.scope.used) {
          // its finalizers run before its outcome is recorded, and their time is its own
          if (this.clockOut(slot)) slot.startedAt = slot.now
          return ended.onSuccess(value)
        }
        succeeded(value, true)
      }
      this.clockOut(slot)
      slot.chunk = undefined
      this.holders.delete(slot)
      return this.endChunk(next, ran)
    }
    const succeeded = (value: A, inPlace: boolean): void => {
      const entry = slot.active!
      slot.active = undefined
      if (inPlace) this.endInPlace(slot, entry)
      else this.finish(slot, entry, slot.startedAt)
      slot.completed++
      ledger.succeed(entry, value, slot.attempts)
    }
    // `closing`: the defects of the attempt's scope closing (after a success, `cause` is empty)
    const failed = (cause: Cause.Cause<E | TaskTimeout<T>>, closing?: Cause.Cause<never>): void => {
      const entry = slot.active!
      slot.active = undefined
      this.finish(slot, entry, slot.startedAt)
      const outcome = this.failureOutcome(slot, entry, cause)
      ledger.record(
        entry,
        // a Timeout whatever its interruption does, its scope's finalizers included
        closing === undefined || (outcome._tag === "Failure" && outcome.error instanceof TaskTimeout)
          ? outcome
          : Outcome.defect(
            entry.task,
            Cause.squash(closing),
            Cause.isEmpty(cause) ? closing : Cause.sequential(cause, closing)
          ),
        slot.attempts
      )
    }
    // The entry whose attempt ended is the slot's `active` one. An attempt that used its scope
    // is recorded once the scope has closed (a waiter sees its finalizers done); a finalizer's
    // defect makes the outcome a `Defect`, and the worker carries on.
    const ended = {
      onFailure: (cause: Cause.Cause<E | TaskTimeout<T>>): Effect.Effect<Stop, never, R> => {
        if (!slot.scope.used) {
          failed(cause)
          return step()
        }
        return this.closeAttempt(slot, Exit.failCause(cause), (closing) => failed(cause, closing), step)
      },
      onSuccess: (value: A): Effect.Effect<Stop, never, R> => {
        if (!slot.scope.used) {
          succeeded(value, false)
          return step()
        }
        return this.closeAttempt(slot, Exit.void, (closing) => {
          if (closing === undefined) succeeded(value, false)
          else failed(Cause.empty, closing)
        }, step)
      }
    }
    return Effect.suspend(next)
  }

  /** Between chunks: the state `Ref` catches up, and a long synchronous stretch yields. */
  private endChunk(next: () => Effect.Effect<Stop, never, R>, ran: boolean): Effect.Effect<Stop, never, R> {
    const published = this.env.foldChanged() ? this.env.ledger.publishState : undefined
    const now = performance.now()
    if (!this.armed) {
      // at most one probe per couple of milliseconds: it costs a macrotask
      if (now - this.armedAt >= PROBE_EVERY_MS) {
        this.armed = true
        this.armedAt = now
        setImmediate(this.disarm)
      }
    } else if (now - this.armedAt > EVENT_LOOP_SLICE_MS) {
      const yielded = Effect.flatMap(this.yieldToEventLoop, next)
      return published === undefined ? yielded : Effect.zipRight(published, yielded)
    }
    if (published !== undefined) return Effect.flatMap(published, next)
    // a chunk whose entries were all cancelled ran nothing: suspend rather than recurse
    return ran ? next() : Effect.suspend(next)
  }

  /**
   * A macrotask turn. Workers resume each other through microtasks, and `Effect.yieldNow`
   * reschedules there too, so a backlog of synchronous tasks would otherwise hold timers and
   * I/O back until it is done. A probe (`setImmediate`) tells whether the event loop had a turn
   * since it was armed; only when it has not for a whole slice do the workers yield, each at
   * its next chunk end (a clock read per chunk, a probe per couple of milliseconds).
   */
  private readonly yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
    setImmediate(() => resume(Effect.void))
  })

  private readonly disarm = (): void => {
    this.armed = false
  }

  /** An entry starts: it counts as running, its capacity slot is free. Returns its start time. */
  private begin(slot: Slot<T>, entry: Entry<T>): number {
    const { clock, ledger } = this.env
    ledger.take(entry)
    this.env.released()
    // the clock's last read in this chunk, at the end of the previous task (or of a run of
    // them: see `endInPlace`) is this one's start time
    if (slot.now < 0) slot.now = clock.unsafeCurrentTimeMillis()
    ledger.metrics.waiting.update(slot.now - entry.enqueuedAt)
    return slot.now
  }

  /** The attempt at an entry; its outcome is recorded by the caller. */
  private attemptOf(entry: Entry<T>, resource: Res, runner: Runner): Effect.Effect<A, E | TaskTimeout<T>, R> {
    const effect = this.env.attempt(entry, resource, runner)
    const handle = entry.handle
    if (handle === undefined) return effect
    // a task with a handle runs in its own fiber so `cancel` can interrupt it alone; if the
    // worker itself is interrupted, the task's fiber is interrupted (and awaited) first
    return Effect.flatMap(Effect.fork(effect), (fiber) => {
      handle.fiber = fiber
      if (handle.cancelled) fiber.unsafeInterruptAsFork(FiberId.none)
      return Effect.ensuring(Fiber.join(fiber), Fiber.interrupt(fiber))
    })
  }

  /**
   * Takes the rest of the slot's chunk for its resource (see chunked.ts): the entries still
   * claimed, their tasks, and the callback each task's exit goes to. Nothing starts yet: see
   * `depart`. Undefined when every entry left was cancelled.
   */
  private flightOf(slot: Slot<T>, chunk: Array<Entry<T>>): Flight<T> | undefined {
    const { ledger, queue } = this.env
    const entries: Array<Entry<T>> = []
    while (slot.index < chunk.length) {
      const entry = chunk[slot.index++]!
      if (entry.state === CLAIMED) entries.push(entry)
      else queue.finished(entry) // cancelled after it was claimed
    }
    if (entries.length === 0) return undefined
    const tasks = entries.map((entry) => entry.task)
    const flight: Flight<T> = {
      entries,
      tasks,
      startedAt: 0,
      sent: 0,
      onExit: (i, exit) => {
        const entry = entries[i]!
        if (entry.state !== ACTIVE) return
        const crashed = Exit.isFailure(exit) ? notStarted(exit.cause) : undefined
        if (crashed !== undefined) {
          slot.crash = crashed
          ledger.untake(entry)
          this.env.reclaimed()
          slot.unstarted.push(entry)
          return
        }
        this.finish(slot, entry, flight.startedAt)
        if (Exit.isSuccess(exit)) {
          slot.completed++
          ledger.succeed(entry, exit.value as A, 1)
        } else if (Cause.isInterruptedOnly(exit.cause)) {
          ledger.record(entry, Outcome.interrupted(entry.task), 1)
        } else {
          ledger.record(entry, this.failureOutcome(slot, entry, exit.cause as Cause.Cause<E>), 1)
        }
      }
    }
    return flight
  }

  /**
   * A flight's entries start, together: they hold no capacity slot any more and record their
   * outcomes as they end; interrupted, `handBack` records the ones still running (`flights`).
   */
  private depart(slot: Slot<T>, flight: Flight<T>): void {
    const { ledger } = this.env
    const { entries } = flight
    // one clock read for all
    slot.now = -1
    const startedAt = this.begin(slot, entries[0]!)
    for (let i = 1; i < entries.length; i++) {
      const entry = entries[i]!
      ledger.take(entry)
      this.env.released()
      ledger.metrics.waiting.update(startedAt - entry.enqueuedAt)
    }
    for (const entry of entries) entry.started = true
    flight.startedAt = startedAt
    flight.sent = performance.now()
    slot.flights.push(entries)
  }

  /**
   * Every entry of a flight has its outcome, or went back unstarted (its thread died first):
   * those return to the front of the queue.
   */
  private landed(slot: Slot<T>, flight: Flight<T>): void {
    // from sending to the last reply, per task (a chunk waiting behind the previous one on
    // its thread reads slower than it is: that errs toward smaller chunks)
    const perTask = (performance.now() - flight.sent) / flight.entries.length
    slot.taskMs = slot.taskMs < 0 ? perTask : 0.7 * slot.taskMs + 0.3 * perTask
    // gone already when its worker was interrupted (`handBack` recorded them): a late reply
    const at = slot.flights.indexOf(flight.entries)
    if (at >= 0) slot.flights.splice(at, 1)
    // a dying thread hands back the unstarted entries of both flights: together, oldest first
    if (slot.flights.length === 0) this.returnUnstarted(slot)
  }

  /** Sends a flight through the resource's effect (`ChunkRunner.run`); returns the wait for it. */
  private sendChunk(slot: Slot<T>, run: ChunkRunner<T>, flight: Flight<T>): Effect.Effect<Effect.Effect<void>> {
    this.depart(slot, flight)
    return Effect.map(
      run.run(flight.tasks, flight.onExit),
      (wait) => Effect.zipRight(wait, Effect.sync(() => this.landed(slot, flight)))
    )
  }

  /** An entry's attempt ended: the worker lets go of it, before its outcome is recorded. */
  private finish(slot: Slot<T>, entry: Entry<T>, startedAt: number): void {
    this.letGo(entry)
    this.clockIn(slot, startedAt)
  }

  private letGo(entry: Entry<T>): void {
    if (entry.handle !== undefined) entry.handle.fiber = undefined
    // a key limit may have lifted; or, draining, the last task ended and parked workers can leave
    if (this.env.queue.finished(entry) || !this.env.lifecycle.isOpen) this.signal()
  }

  /**
   * `finish` for a sync task that ended in place, without a clock read each (~40 ns of a task
   * of ~250 ns here). While reads find the clock standing still, up to `every` such tasks end
   * between two reads, `every` doubling up to `UNCLOCKED_MAX`; a read that finds the clock
   * moved sets it back to one. The read takes the run's duration samples: the time since the
   * previous read for the last task, zero for the others (each started at that read, `begin`).
   * Count and sum stay exact, and so does each sample at the clock's resolution unless two
   * ticks fall in one run (which spans at most twice the run before it, in which none fell).
   * The worker takes the pending samples before it leaves the run (`clockOut`).
   */
  private endInPlace(slot: Slot<T>, entry: Entry<T>): void {
    this.letGo(entry)
    if (slot.unclocked + 1 < slot.every) slot.unclocked++
    else this.clockIn(slot, slot.startedAt)
  }

  /** Reads the clock at the end of a task that started at `startedAt` (see `endInPlace`). */
  private clockIn(slot: Slot<T>, startedAt: number): void {
    const { duration } = this.env.ledger.metrics
    const now = this.env.clock.unsafeCurrentTimeMillis()
    for (; slot.unclocked > 0; slot.unclocked--) duration.update(0)
    slot.every = now !== startedAt ? 1 : slot.every < UNCLOCKED_MAX ? slot.every * 2 : UNCLOCKED_MAX
    slot.now = now
    duration.update(now - startedAt)
  }

  /** Takes the pending samples of a run of in-place tasks (see `endInPlace`); true if any. */
  private clockOut(slot: Slot<T>): boolean {
    if (slot.unclocked === 0) return false
    slot.unclocked--
    this.clockIn(slot, slot.now)
    return true
  }

  /**
   * Closes the attempt's scope, then `record`s its outcome with the close's defects (if any)
   * in the same uninterruptible region: an interruption between the two would make `handBack`
   * record a task that ended as interrupted.
   */
  private closeAttempt(
    slot: Slot<T>,
    exit: Exit.Exit<unknown, unknown>,
    record: (closing: Cause.Cause<never> | undefined) => void,
    next: () => Effect.Effect<Stop, never, R>
  ): Effect.Effect<Stop, never, R> {
    // Its finalizers may wait. A worker running sync tasks in place had wake-ups skipped for
    // it (see `signal`): helpers take the rest of its chunk and the queue meanwhile, as when
    // an attempt suspends in `step`
    if (this.runningInPlace === slot) {
      this.runningInPlace = undefined
      if (this.inPlace) this.wakeHelpers(slot)
    }
    const closed = Effect.uninterruptible(
      Effect.onExit(
        slot.scope.close(exit),
        (closing) => Effect.sync(() => record(Exit.isFailure(closing) ? closing.cause : undefined))
      )
    )
    return Effect.flatMap(Effect.catchAllCause(closed, () => Effect.void), next)
  }

  private failureOutcome(
    slot: Slot<T>,
    entry: Entry<T>,
    cause: Cause.Cause<E | TaskTimeout<T>>
  ): Outcome.Outcome<T, A, E> {
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some") {
      const error = failure.value
      if (error instanceof WorkerCrashed) slot.crash = error
      // a finalizer of the handler's (an `ensuring`) that died: its defect is the outcome, as
      // for one of the attempt's scope; a timeout stays a Timeout (see attempt.ts)
      const died = error instanceof TaskTimeout ? undefined : Cause.dieOption(cause)
      if (died !== undefined && died._tag === "Some") return Outcome.defect(entry.task, died.value, cause)
      return Outcome.failure(entry.task, error, slot.attempts)
    }
    if (Cause.isInterruptedOnly(cause)) return Outcome.interrupted(entry.task)
    return Outcome.defect(entry.task, Cause.squash(cause), cause)
  }

  /** one-for-all: every other worker re-acquires its resource after its current task. */
  restartAllBut(crashed: { readonly id: number }): void {
    for (const slot of this.slots) {
      // a dormant worker holds no resource to re-acquire
      if (slot.id !== crashed.id && !slot.dormant) {
        slot.restartRequested = true
        this.unpark(slot)
      }
    }
  }
}

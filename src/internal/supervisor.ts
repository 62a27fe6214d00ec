/**
 * The supervisor: construction, the public api object, and stopping.
 *
 * Built from one piece per concept — `admission` (tasks in), `worker` (fibers, chunks,
 * restarts), `attempt` (one task's pipeline), `ledger` (THE place a task gets its outcome),
 * `intensity` (restart limits), `lifecycle` (Open | Draining | Stopped), `queue/` (order).
 *
 * Construction runs under `uninterruptibleMask`, and the one stop finalizer is registered before
 * any worker starts, after the fiber set that holds every background fiber: closing the scope
 * first stops the supervisor (interrupting workers, handing unstarted tasks back), then the
 * fiber set makes sure no fiber is left.
 *
 * One JS thread runs every fiber, so the mutable counters below are only ever touched between
 * fiber yields; no locking is needed.
 *
 * Effect-version-specific calls live in few, named places (a port to Effect 4 touches only
 * them): hand-written `Effect.async` resume sites in `admission.ts` (`awaitSpace`, `execute`),
 * `worker.ts` (`park`, `yieldToEventLoop`) and `lifecycle.ts` (`await`); `Schedule.driver` in
 * `intensity.ts`; `RateLimiter` here and in `attempt.ts`; metric updates in `metrics.ts`;
 * `Mailbox` in `ledger.ts`; the `Scope` interface in `attemptScope.ts`; effect 3's primitive
 * encoding (sync handlers run in place) in `immediate.ts`; `Schema.TaggedRequest` in `threads/`.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as RateLimiter from "effect/RateLimiter"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Escalated, type InvalidOptions, SupervisorClosed } from "../Errors.js"
import type * as Supervisor from "../Supervisor.js"
import { Admission } from "./admission.js"
import * as Attempt from "./attempt.js"
import { isChunkedHandler } from "./chunked.js"
import { Deadlines, type Timed } from "./deadlines.js"
import { Intensity } from "./intensity.js"
import { type Hooks, Ledger } from "./ledger.js"
import { Lifecycle } from "./lifecycle.js"
import { type Normalized, validateWorkers } from "./options.js"
import * as Progress from "./progress.js"
import * as Fifo from "./queue/fifo.js"
import * as Keyed from "./queue/keyed.js"
import { Workers } from "./worker.js"

export type { Hooks } from "./ledger.js"

/** The most entries a worker claims at once. */
const MAX_CHUNK = 64

/** @internal */
export const make = <T, A, E, R, S, Res>(
  options: Supervisor.Options<T, A, E, R, S, Res>,
  config: Normalized,
  hooks: Hooks<T, A, E> = {}
): Effect.Effect<Supervisor.Supervisor<T, A, E, S>, never, R | Scope.Scope> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const runtime = yield* Effect.runtime<never>()
    const context = yield* Effect.context<R>()
    const limiter = config.rateLimit === undefined ? undefined : yield* RateLimiter.make({
      limit: config.rateLimit.limit,
      interval: config.rateLimit.interval,
      algorithm: "token-bucket"
    })
    // created before the stop finalizer, so it closes after it: no fiber outlives the scope
    const background = yield* FiberSet.make()
    const stateRef = yield* Ref.make(options.initial as S)
    const idle = yield* Effect.makeLatch(true)

    const keyed = options.key !== undefined || options.priority !== undefined
    // "sliding" drops the oldest waiting task, so every waiting task must stay in the queue
    const queue = keyed ? Keyed.make<T>(config.perKey) : Fifo.make<T>(config.strategy === "sliding" ? 1 : MAX_CHUNK)
    const lifecycle = new Lifecycle<Supervisor.Summary<T, A, E, S>>()
    let admission: Admission<T, A, E, S> | undefined = undefined
    const ledger = new Ledger<T, A, E, S>(
      options.initial as S,
      options.combine,
      stateRef,
      idle,
      config.retain,
      hooks,
      config.name,
      () => admission!.notStarted
    )
    let workers: Workers<T, A, E, R, S, Res> | undefined = undefined
    const intensity = new Intensity(config.restart, clock, ledger.counts, (crashed) => workers!.restartAllBut(crashed))
    admission = new Admission(queue, ledger, lifecycle, {
      capacity: config.capacity,
      strategy: config.strategy,
      key: options.key,
      priority: options.priority,
      clock,
      changed: () => workers!.signal(),
      // only a bare attempt may run outside its worker's fiber: nothing in it reads the fiber
      runInPlace: options.resource === undefined && config.timeout === undefined && options.retry === undefined &&
          limiter === undefined && !config.spans && !keyed
        ? (entry) => workers!.runInPlace(entry)
        : undefined
    })
    const timeout = config.timeout === undefined
      ? undefined
      : { duration: config.timeout, deadlines: new Deadlines<Timed>(clock) }
    // interruptible: this constructor runs uninterruptibly, and its forks would inherit that
    if (timeout !== undefined) yield* FiberSet.run(background, Effect.interruptible(timeout.deadlines.watchdog))
    const attempt = Attempt.make<T, A, E, R, Res>(
      {
        handler: options.handler,
        retry: options.retry as any,
        timeout,
        limiter,
        span: config.spans ? `${config.name}.task` : undefined,
        describe: options.describe
      },
      ledger.counts,
      () => ledger.syncMetrics()
    )
    let published: S = options.initial as S
    workers = new Workers<T, A, E, R, S, Res>({
      queue,
      ledger,
      lifecycle,
      intensity,
      attempt,
      resource: options.resource as Effect.Effect<Res, unknown, R | Scope.Scope> | undefined,
      context,
      clock,
      released: () => admission!.release(),
      reclaimed: () => admission!.reclaim(),
      // not `immediate`: a worker woken inside `submit` must not run on the submitter's stack
      fork: (effect) => Runtime.runFork(runtime, effect, { immediate: false }),
      escalate: (escalated) => halt(false, escalated),
      foldChanged: () => {
        if (ledger.state === published) return false
        published = ledger.state
        return true
      },
      // see chunked.ts: only a bare attempt
      chunked: isChunkedHandler(options.handler) && config.timeout === undefined && options.retry === undefined &&
        limiter === undefined && !config.spans
    })
    const pool = workers
    const admit = admission

    const stats = (): Supervisor.Stats => {
      ledger.syncMetrics()
      const c = ledger.counts
      return {
        submitted: c.submitted,
        queued: admit.notStarted,
        running: ledger.running,
        succeeded: c.succeeded,
        failed: c.failed,
        defects: c.defects,
        interrupted: c.interrupted,
        dropped: c.dropped,
        restarts: c.restarts,
        timeouts: c.timeouts,
        retries: c.retries,
        paused: lifecycle.isOpen ? (pool.paused ? admit.notStarted : queue.heldByKeys()) : 0,
        workers: pool.size
      }
    }

    /** Every worker has ended: what is still waiting is handed back, then the one stop. */
    const finish: Effect.Effect<void> = Effect.suspend(() => {
      admit.handBackAll()
      ledger.close()
      idle.unsafeOpen()
      lifecycle.stop({
        state: ledger.state,
        stats: stats(),
        failures: ledger.failureList,
        pending: ledger.pending
      })
      return ledger.publishState
    })

    /**
     * Starts (or hardens) a stop; never waits. Graceful: admission closes, pauses lift, the
     * workers drain the queue and leave. Otherwise every worker is interrupted. The first call
     * forks the one fiber that waits for the workers and finishes.
     */
    const halt = (graceful: boolean, escalation?: Escalated): Effect.Effect<void> =>
      Effect.suspend(() => {
        const change = lifecycle.drain(graceful, escalation)
        if (change === undefined) return Effect.void
        if (change === "started") {
          admit.close()
          pool.paused = false
          queue.resumeAllKeys()
        }
        pool.broadcast()
        // fork the finisher before interrupting: `halt` may run on a worker (an escalation)
        const finisher = change === "started"
          ? Effect.asVoid(FiberSet.run(background, Effect.uninterruptible(Effect.zipRight(pool.awaitAll, finish))))
          : Effect.void
        return graceful ? finisher : Effect.zipRight(finisher, Effect.sync(() => pool.interruptAll()))
      })

    const awaitStop = lifecycle.await
    const progressSource = new Progress.Source(
      ledger,
      () => lifecycle.phase._tag === "Stopped",
      Effect.ignore(awaitStop)
    )
    const shutdown = Effect.zipRight(halt(true), awaitStop)
    const shutdownNow = Effect.zipRight(halt(false), awaitStop)

    yield* Effect.addFinalizer(() => Effect.ignore(closeWith(config.drain, halt, awaitStop)))
    for (let i = 0; i < config.workers; i++) yield* pool.spawn

    const api: Supervisor.Supervisor<T, A, E, S> = {
      submit: (task) => admit.submit(task),
      submitAll: (tasks) => admit.submitAll(tasks),
      submitStream: (tasks) => Stream.runForEachChunk(tasks, (chunk) => admit.submitAll(chunk)),
      offer: (task) => admit.offer(task),
      execute: (task) => admit.execute(task),
      submitWithHandle: (task) => admit.submitWithHandle(task),
      pause: Effect.sync(() => {
        // a graceful drain needs every queued task to start: pausing it would cut it short
        if (lifecycle.isOpen) pool.paused = true
      }),
      resume: Effect.sync(() => {
        pool.paused = false
        pool.broadcast()
      }),
      pauseKey: (key) =>
        Effect.sync(() => {
          if (lifecycle.isOpen) queue.pauseKey(key)
        }),
      resumeKey: (key) =>
        Effect.sync(() => {
          queue.resumeKey(key)
          pool.broadcast()
        }),
      resize: (n) =>
        Effect.suspend((): Effect.Effect<void, InvalidOptions | SupervisorClosed> => {
          const invalid = validateWorkers(n)
          if (invalid !== undefined) return Effect.fail(invalid)
          if (!lifecycle.isOpen) return Effect.fail(new SupervisorClosed())
          if (n > pool.size) {
            // a long loop yields now and then: a stop meanwhile ends it, as a resize after one fails
            return Effect.zipRight(
              Effect.whileLoop({
                while: () => lifecycle.isOpen && pool.size < n,
                body: () => pool.spawn,
                step: () => {}
              }),
              Effect.suspend(() => lifecycle.isOpen ? Effect.void : Effect.fail(new SupervisorClosed()))
            )
          }
          pool.retire(n)
          return Effect.void
        }),
      awaitIdle: Effect.zipRight(
        idle.await,
        Effect.suspend(() => {
          const escalation = lifecycle.escalation
          // the last outcome may have been recorded outside its worker's fiber (a thread's
          // reply to a chunk: see chunked.ts), before that worker published the state
          return escalation === undefined ? ledger.publishState : Effect.fail(escalation)
        })
      ),
      state: Ref.get(stateRef),
      stats: Effect.sync(stats),
      outcomes: Stream.unwrapScoped(Effect.suspend(() => {
        if (lifecycle.phase._tag === "Stopped") return Effect.succeed(Stream.empty)
        return Effect.map(
          Effect.acquireRelease(ledger.subscribe, (mailbox) => Effect.sync(() => ledger.unsubscribe(mailbox))),
          (mailbox) => Mailbox.toStream(mailbox)
        )
      })),
      progress: (options) => Progress.make(progressSource, options),
      shutdown,
      shutdownNow
    }
    return api
  }))

/**
 * The scope closes: with `drain`, a graceful stop gets up to that long before the rest is
 * interrupted; without, it stops at once (like `shutdownNow`).
 */
const closeWith = (
  drain: Duration.Duration | undefined,
  halt: (graceful: boolean) => Effect.Effect<void>,
  awaitStop: Effect.Effect<unknown, Escalated>
): Effect.Effect<unknown, Escalated> => {
  if (drain === undefined) return Effect.zipRight(halt(false), awaitStop)
  // In a fiber of its own, not a child: a further interrupt of the closing fiber (the first one
  // closed the scope) reaches its children even while it runs this finalizer, and it cancelled
  // the deadline's race, so the drain never ended. Joined here: it outlives no one.
  const drained = Effect.flatMap(Effect.forkDaemon(Effect.timeout(Effect.interruptible(awaitStop), drain)), Fiber.join)
  return Effect.zipRight(
    halt(true),
    Effect.catchTag(drained, "TimeoutException", () => Effect.zipRight(halt(false), awaitStop))
  )
}

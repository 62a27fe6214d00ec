/**
 * A supervisor: a bounded set of worker fibers fed by a queue, every task ending in exactly
 * one `Outcome`, successes folded into a `Ref`, everything scoped.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Escalated, InvalidOptions, SupervisorClosed, TaskError, TaskTimeout } from "./Errors.js"
import { validate as validateOptions } from "./internal/options.js"
import * as internal from "./internal/supervisor.js"
import * as workerInfo from "./internal/workerInfo.js"
import type * as Outcome from "./Outcome.js"
import type * as Restart from "./Restart.js"

/**
 * The options of a supervisor.
 *
 * - `workers`: number of worker fibers (integer >= 1). Without a `resource` a worker gets its
 *   fiber when it first has work, so a large pool costs little until it is busy.
 * - `handler(task, resource)`: the work for one task.
 * - `resource`: acquired once per worker in the worker's own `Scope` (released when the worker
 *   stops or restarts); the handler receives it. Default: none (`void`).
 * - `capacity`: how many tasks may wait to start (default 1024; >= 1 or `Infinity`). Running
 *   tasks do not count.
 * - `strategy`: what a full queue does with a new task: `"suspend"` the submitter (default),
 *   `"dropping"` (the new task ends `Dropped`), `"sliding"` (the oldest waiting task ends
 *   `Dropped`).
 * - `timeout`: bound on one attempt; a timed-out attempt is interrupted and fails with
 *   `TaskTimeout`. Each attempt then runs in a fiber of its own, timed by one watchdog fiber
 *   per supervisor (~4–5 µs per sync task, against ~0.4 µs without a timeout).
 * - `retry`: a `Schedule` over typed failures and `TaskTimeout` of one task (never defects,
 *   interruptions or `WorkerCrashed`).
 * - `rateLimit`: at most `limit` attempt starts per `interval` across the supervisor (token
 *   bucket); waiting for a permit is not part of `timeout`.
 * - `restart`: a `Restart.Policy` (default: backoff 10 ms..1 s, 5 restarts within 5 s).
 * - `initial` / `combine`: the fold of successes into the state `Ref`.
 * - `name`: metric label and span prefix; naming a supervisor turns on a span per task
 *   (`<name>.task`) unless `spans: false`.
 * - `key` / `perKey` / `priority`: fair per-key scheduling and priorities.
 *
 * Gotchas: `Options` are checked when the supervisor starts (see {@link validate});
 * `combine` without `initial` folds into `undefined`.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Restart, Supervisor } from "effect-supervisor"
 *
 * const options: Supervisor.Options<string, number, Error> = {
 *   workers: 4,
 *   handler: (url) => Effect.tryPromise({ try: () => Promise.resolve(url.length), catch: (e) => e as Error }),
 *   capacity: 100,
 *   timeout: "5 seconds",
 *   retry: Schedule.recurs(2),
 *   rateLimit: { limit: 10, interval: "1 second" },
 *   restart: Restart.policy({ maxRestarts: 3 }),
 *   name: "crawler"
 * }
 *
 * Effect.runPromise(Supervisor.run(["https://a.example"], options)).then((s) => console.log(s.stats.succeeded)) // 1
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<T, A, E = never, R = never, S = void, Res = void> {
  readonly workers: number
  readonly handler: (task: T, resource: Res) => Effect.Effect<A, E, R>
  readonly resource?: Effect.Effect<Res, unknown, R | Scope.Scope> | undefined
  readonly capacity?: number | undefined
  readonly strategy?: "suspend" | "dropping" | "sliding" | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: Schedule.Schedule<unknown, NoInfer<E> | TaskTimeout> | undefined
  readonly rateLimit?: { readonly limit: number; readonly interval: Duration.DurationInput } | undefined
  readonly restart?: Restart.Policy | undefined
  readonly initial?: S | undefined
  readonly combine?: ((state: S, value: NoInfer<A>, task: NoInfer<T>) => S) | undefined
  readonly name?: string | undefined
  /** a span `<name>.task` per task; default: on when `name` is given */
  readonly spans?: boolean | undefined
  /** the task's key (a tenant, a host): keys are served round-robin */
  readonly key?: ((task: T) => string) | undefined
  /** at most this many tasks of one key run at once (needs `key`); default unlimited */
  readonly perKey?: number | undefined
  /** higher first; equal priorities keep submission order (within a key when `key` is set) */
  readonly priority?: ((task: T) => number) | undefined
  /** a readable identity of a task, put on its span as the `supervisor.task` attribute */
  readonly describe?: ((task: T) => string) | undefined
  /**
   * how many of the most recent failures (`Summary.failures`) and dropped tasks
   * (`Summary.pending`) a supervisor keeps; counts in `stats` are always exact. Default for
   * `make`/`layer`: 1000 each; `run` keeps all of them for its batch.
   */
  readonly retain?: { readonly failures?: number | undefined; readonly dropped?: number | undefined } | undefined
  /**
   * how many unread outcomes one `outcomes` subscriber may fall behind by before its oldest
   * unread ones are dropped (default 4096)
   */
  readonly outcomesBuffer?: number | undefined
  /**
   * closing the scope (or releasing the layer) drains gracefully for up to this long — stop
   * accepting, let queued and running tasks finish — then interrupts the rest, like
   * `shutdownNow`. Default: interrupt at once.
   */
  readonly drain?: Duration.DurationInput | undefined
}

/**
 * A handle on one submitted task (from `submitWithHandle`).
 *
 * - `await`: the task's `Outcome` (never fails).
 * - `cancel`: a queued task is removed and ends `Interrupted`; a running one is interrupted
 *   (its finalizers run) and `cancel` returns once it has its outcome; a finished task is left
 *   as it is.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n * 10) })
 *     const handle: Supervisor.TaskHandle<number, number, never> = yield* sup.submitWithHandle(4)
 *     const outcome = yield* handle.await
 *     return outcome._tag === "Success" ? outcome.value : -1
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 40
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskHandle<T, A, E> {
  readonly task: T
  readonly await: Effect.Effect<Outcome.Outcome<T, A, E>>
  readonly cancel: Effect.Effect<void>
}

/**
 * Counts, as plain data. `queued` counts tasks waiting to start, `running` those started and
 * not ended; the rest count outcomes. `submitted = succeeded + failed + defects + interrupted
 * + dropped + queued + running` at any quiet moment.
 *
 * When to use: health checks and dashboards (`stats` is cheap: no lock, a snapshot of
 * counters); metrics carry the same counts over time.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2, 3, 4], {
 *   workers: 2,
 *   handler: (n: number) => (n % 2 === 0 ? Effect.succeed(n) : Effect.fail("odd"))
 * })
 *
 * Effect.runPromise(program).then(({ stats }: { stats: Supervisor.Stats }) =>
 *   console.log(stats.submitted, stats.succeeded, stats.failed) // 4 2 2
 * )
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly submitted: number
  readonly queued: number
  readonly running: number
  readonly succeeded: number
  readonly failed: number
  readonly defects: number
  readonly interrupted: number
  readonly dropped: number
  readonly restarts: number
  /** attempts that timed out (each retry's timeout counts) */
  readonly timeouts: number
  /** attempts after the first, over all tasks */
  readonly retries: number
  /** queued tasks held back by `pause` / `pauseKey` */
  readonly paused: number
  /** the current number of workers (see `resize`) */
  readonly workers: number
}

/**
 * What a supervisor hands back when it stops.
 *
 * - `state`: the final fold.
 * - `failures`: every `Failure` and `Defect` outcome.
 * - `pending`: tasks that never started: interrupted before they started (`shutdownNow`, scope
 *   close, escalation) or dropped by a full queue.
 * - `stats`: the final counts.
 *
 * When to use: the result of `run`, `shutdown` and `shutdownNow`; `pending` is what a
 * service hands back (re-queues, persists) when it stops early.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (_: string) => Effect.never })
 *     yield* sup.submitAll(["running", "queued-1", "queued-2"])
 *     yield* Effect.sleep("10 millis")
 *     const summary: Supervisor.Summary<string, never, never, void> = yield* sup.shutdownNow
 *     return summary.pending
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // [ 'queued-1', 'queued-2' ]
 * ```
 *
 * @category models
 * @since 0.1.0
 */
// `A` is unused but kept so a Summary's type names all of its supervisor's parameters
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export interface Summary<T, A, E, S> {
  readonly state: S
  readonly stats: Stats
  readonly failures: ReadonlyArray<Outcome.Failure<T, E> | Outcome.Defect<T>>
  readonly pending: ReadonlyArray<T>
}

/**
 * A running supervisor: hand it tasks (`submit`, `submitAll`, `submitStream`, `offer`,
 * `execute`, `submitWithHandle`), watch it (`stats`, `state`, `outcomes`, `awaitIdle`),
 * steer it (`pause`, `resume`, `resize`) and stop it (`shutdown`, `shutdownNow`).
 *
 * Gotchas: it is bound to the `Scope` it was made in; closing that scope stops it like
 * `shutdownNow`. Use {@link Tag} or {@link layer} to share one across a program.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup: Supervisor.Supervisor<string, number> = yield* Supervisor.make({
 *       workers: 2,
 *       handler: (word: string) => Effect.succeed(word.length)
 *     })
 *     const length = yield* sup.execute("supervisor")
 *     yield* sup.submitAll(["a", "bb"])
 *     yield* sup.awaitIdle
 *     const stats = yield* sup.stats
 *     return `${length} ${stats.succeeded}`
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 10 3
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Supervisor<T, A, E = never, S = void> {
  /**
   * Hands a task to the supervisor. Suspends while the queue is full (`"suspend"`); with
   * `"dropping"` / `"sliding"` it never suspends and a task pushed out ends `Dropped`.
   * Fails with `SupervisorClosed` after shutdown.
   */
  readonly submit: (task: T) => Effect.Effect<void, SupervisorClosed>
  /**
   * Hands many tasks over in one go (cheaper than one `submit` each); suspends while the queue
   * is full. On `SupervisorClosed` the tasks not yet handed over were not accepted.
   */
  readonly submitAll: (tasks: Iterable<T>) => Effect.Effect<void, SupervisorClosed>
  /**
   * Hands over every task of a stream, chunk by chunk through `submitAll`, so a full queue
   * backpressures the stream. Ends when the stream ends (the tasks may still be running:
   * follow with `awaitIdle` or `shutdown`); fails with the stream's error or
   * `SupervisorClosed`.
   */
  readonly submitStream: <E2, R2>(tasks: Stream.Stream<T, E2, R2>) => Effect.Effect<void, SupervisorClosed | E2, R2>
  /**
   * Hands a task over without ever suspending: `false` when the queue is full (`"suspend"`,
   * `"dropping"`) — the task was not accepted, has no outcome and is not counted. With
   * `"sliding"` it always accepts (the oldest waiting task ends `Dropped`).
   */
  readonly offer: (task: T) => Effect.Effect<boolean, SupervisorClosed>
  /**
   * Submits a task and waits for its outcome: the value, the handler's own typed `E`
   * unchanged, or a `TaskError`; a handler defect is re-raised as the same defect.
   * Interrupting `execute` cancels the task if it has not started yet.
   *
   * Cost: with a worker idle, nothing waiting and a bare pipeline (no `resource`, `timeout`,
   * `retry`, `rateLimit`, spans, `key` or `priority`), a handler whose effect is a `succeed` or
   * `sync` runs right in the caller on that worker's behalf (counted, folded and published the
   * same; no queue, no wake-up, no suspension): ~1 µs per `execute` instead of ~3–4. Any other
   * effect the handler returns goes straight to that worker; the handler is called once either
   * way.
   *
   * Gotcha: a handler that `execute`s on its own supervisor holds a worker while it waits for
   * another; once every worker waits so, none is left to run what they wait for and they wait
   * forever (p-limit and worker pools in general behave the same). Give subtasks a supervisor
   * of their own, or `submit` them without waiting.
   */
  readonly execute: (task: T) => Effect.Effect<A, E | TaskError>
  /**
   * Submits a task and returns a handle to await its `Outcome` or `cancel` it (queued: removed,
   * ends `Interrupted`; running: interrupted, finalizers run; finished: no-op). A task with a
   * handle runs in its own fiber (~2 µs more than `submit`).
   */
  readonly submitWithHandle: (task: T) => Effect.Effect<TaskHandle<T, A, E>, SupervisorClosed>
  /** Holds every queued task (they stay queued); running tasks finish. */
  readonly pause: Effect.Effect<void>
  /** Releases a `pause`. */
  readonly resume: Effect.Effect<void>
  /** Holds the queued tasks of one key (needs the `key` option; otherwise a no-op). */
  readonly pauseKey: (key: string) => Effect.Effect<void>
  /** Releases a `pauseKey`. */
  readonly resumeKey: (key: string) => Effect.Effect<void>
  /**
   * Grows or shrinks the number of workers. New workers start at once when there is work
   * (otherwise, without a `resource`, when they are first woken); shrinking never
   * interrupts: a worker past the new size stops after its current task (idle ones at once).
   * `InvalidOptions` unless `workers` is an integer >= 1; `SupervisorClosed` once it stopped.
   */
  readonly resize: (workers: number) => Effect.Effect<void, InvalidOptions | SupervisorClosed>
  /** Waits until every task submitted so far has an outcome (fails if the supervisor escalated). */
  readonly awaitIdle: Effect.Effect<void, Escalated>
  /** The current fold of successes (updated once per chunk of tasks a worker runs). */
  readonly state: Effect.Effect<S>
  readonly stats: Effect.Effect<Stats>
  /** Live outcomes from the moment the stream starts; it ends when the supervisor stops. */
  readonly outcomes: Stream.Stream<Outcome.Outcome<T, A, E>>
  /**
   * Progress snapshots (done / total, counts, rate, ETA), at most one per `every`, ending when
   * `total` tasks have an outcome or the supervisor stops. See {@link progress}.
   */
  readonly progress: (options?: ProgressOptions) => Stream.Stream<Progress, InvalidOptions>
  /**
   * Stops accepting, lets the workers drain the queue and finish in-flight tasks, releases the
   * workers, and returns the Summary. Safe to call more than once.
   */
  readonly shutdown: Effect.Effect<Summary<T, A, E, S>, Escalated>
  /**
   * Stops accepting, interrupts in-flight tasks (their finalizers run) and returns the Summary
   * whose `pending` lists the tasks that never started. Safe to call more than once.
   */
  readonly shutdownNow: Effect.Effect<Summary<T, A, E, S>, Escalated>
}

/**
 * One progress snapshot of a supervisor (see {@link progress}).
 *
 * - `done`: tasks with an outcome, `succeeded + failed + defects + interrupted + dropped` (the
 *   same counts as {@link Stats}, over the supervisor's whole life).
 * - `total`: the `total` asked for, or the tasks submitted so far when that is more.
 * - `elapsed`: since the stream started; `ratePerSecond`: outcomes per second over `elapsed`.
 * - `eta`: the `total - done` tasks left at that rate; `None` until a task has ended since the
 *   stream started, zero once `done` reaches `total`.
 *
 * When to use: draw a progress bar or a status line, or send it to a client as it is (plain
 * data: it serializes as JSON, with `Option` and `Duration` as their JSON forms).
 *
 * @example
 * ```ts
 * import { Duration, Option } from "effect"
 * import type { Supervisor } from "effect-supervisor"
 *
 * const line = (p: Supervisor.Progress) =>
 *   `${p.done}/${p.total} (${p.failed + p.defects} failed) ` +
 *   `${p.ratePerSecond.toFixed(1)}/s ETA ${Option.match(p.eta, { onNone: () => "?", onSome: Duration.format })}`
 *
 * console.log(line({
 *   done: 30, total: 120, succeeded: 29, failed: 1, defects: 0, interrupted: 0, dropped: 0,
 *   elapsed: Duration.seconds(3), ratePerSecond: 10, eta: Option.some(Duration.seconds(9))
 * })) // 30/120 (1 failed) 10.0/s ETA 9s
 * ```
 *
 * @category models
 * @since 0.2.0
 */
export interface Progress {
  readonly done: number
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly defects: number
  readonly interrupted: number
  readonly dropped: number
  readonly elapsed: Duration.Duration
  readonly ratePerSecond: number
  readonly eta: Option.Option<Duration.Duration>
}

/**
 * Options of {@link progress}.
 *
 * - `total`: how many tasks the batch is (counted over the supervisor's life, as `stats`
 *   counts): the stream ends once that many tasks, and every task submitted, have an outcome.
 *   Without it, `total` is the tasks submitted so far and only a stop ends the stream.
 * - `every`: at most one snapshot per this long (default 1 second), on ticks of the `Clock`.
 *
 * @example
 * ```ts
 * import type { Supervisor } from "effect-supervisor"
 *
 * const files = ["a.txt", "b.txt", "c.txt"]
 * const options: Supervisor.ProgressOptions = { total: files.length, every: "100 millis" }
 *
 * console.log(options.total) // 3
 * ```
 *
 * @category models
 * @since 0.2.0
 */
export interface ProgressOptions {
  readonly total?: number | undefined
  readonly every?: Duration.DurationInput | undefined
}

/**
 * A `Stream` of progress snapshots of a supervisor — done and total, the counts by outcome,
 * rate and ETA — at most one per `every`, that ends when the batch is done or the supervisor
 * stops. Data-first (`progress(supervisor, options)`) or data-last
 * (`pipe(supervisor, progress(options))`); the same as `supervisor.progress(options)`.
 *
 * When to use: a progress bar or status line for a batch (`submitAll`, then `shutdown`), or a
 * feed for a dashboard or a client (server-sent events) — instead of polling `stats` on a timer.
 *
 * Details:
 * - Counts cover the supervisor's whole life, as {@link Stats} does, so a stream started after
 *   `submitAll` misses nothing.
 * - One snapshot when the stream starts; then at most one per `every` (default 1 second), on
 *   ticks of the `Clock`, and only when `done` or `total` changed; and a last one as soon as
 *   the batch is done (`done` reached `total`, or every submitted task has an outcome if more
 *   were submitted) or the supervisor stopped — then the stream ends. Without `total`, only the
 *   stop ends it.
 * - Rate and ETA are measured on the `Clock` since the stream started, so tests run it in
 *   virtual time (`TestClock.adjust`).
 * - Cost: nothing per task; a running stream reads a few counters per tick; nobody
 *   subscribed, nothing at all. The stream is pulled: a slow consumer sees fewer snapshots,
 *   never a backlog.
 * - Fails with `InvalidOptions` for an `every` that is not a positive duration or a `total`
 *   that is not an integer >= 0.
 *
 * Gotchas: on a supervisor that already ran tasks, a batch's `total` is `stats.submitted`
 * before it plus its size; a supervisor shared with other producers shows their work too —
 * give a batch its own supervisor (as `run` does) for a bar of that batch alone:
 * {@link runWithProgress} is `run` with this stream.
 *
 * @example
 * ```ts
 * import { Duration, Effect, Fiber, Option, Stream } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 2, handler: (ms: number) => Effect.sleep(ms) })
 *     const lines: Array<string> = []
 *     const eta = (p: Supervisor.Progress) => Option.match(p.eta, { onNone: () => "?", onSome: Duration.format })
 *     const bar = yield* Supervisor.progress(sup, { total: 6, every: "10 millis" }).pipe(
 *       // a real bar redraws a line here
 *       Stream.runForEach((p) => Effect.sync(() => lines.push(`${p.done}/${p.total} ETA ${eta(p)}`))),
 *       Effect.fork
 *     )
 *     yield* sup.submitAll([5, 10, 15, 5, 10, 15])
 *     yield* Fiber.join(bar) // the stream ends by itself once the 6 tasks are done
 *     return `${lines[0]} ... ${lines.at(-1)}`
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 0/6 ETA ? ... 6/6 ETA 0
 * ```
 *
 * @category getters
 * @since 0.2.0
 */
export const progress: {
  (options?: ProgressOptions): <T, A, E, S>(self: Supervisor<T, A, E, S>) => Stream.Stream<Progress, InvalidOptions>
  <T, A, E, S>(self: Supervisor<T, A, E, S>, options?: ProgressOptions): Stream.Stream<Progress, InvalidOptions>
} = dual(
  (args) => typeof args[0]?.progress === "function",
  <T, A, E, S>(self: Supervisor<T, A, E, S>, options?: ProgressOptions) => self.progress(options)
)

/**
 * Starts a supervisor in the current `Scope`.
 *
 * When to use: a long-lived service that receives tasks over time (a job runner, a crawler,
 * a consumer). For a fixed batch, {@link run} is shorter.
 *
 * Details: options are validated first (`InvalidOptions` names the field and the value).
 * `workers` fibers start at once, each acquiring its `resource` in its own scope. Closing the
 * enclosing scope behaves like `shutdownNow`: in-flight tasks are interrupted, their
 * finalizers and every worker's resource finalizer run, and no fiber outlives the scope.
 *
 * Cost: ~0.6 µs per task on the `submit` path with a synchronous handler (one small entry
 * object per task, the fold applied once per chunk of up to 64 tasks); `execute` ~3.5 µs
 * (the caller waits: two trips through the scheduler per task).
 *
 * Gotchas: the handler's `R` is captured when the supervisor is made. `state` is updated once
 * per chunk, so `awaitIdle` (or `shutdown`) is the point where it is exact; `outcomes`
 * subscribers see each outcome as it is recorded.
 *
 * Durable: with `queue` (a `Durable.queue` from `effect-supervisor/durable`) it starts a
 * durable consumer instead (`handler(task, ctx)`, `timeout` required) — see
 * `Durable.consumer`. This module does not load `@effect/sql`: the queue carries its consumer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({
 *       workers: 4,
 *       handler: (n: number) => Effect.succeed(n * n),
 *       initial: 0,
 *       combine: (sum, square) => sum + square
 *     })
 *     yield* sup.submitAll([1, 2, 3])
 *     const summary = yield* sup.shutdown
 *     return summary.state
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 14
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  <T, A, E = never, R = never>(
    options: import("./internal/durable/protocol.js").ConsumerOptions<T, A, E, R>
  ): Effect.Effect<
    import("./internal/durable/protocol.js").Consumer,
    InvalidOptions,
    R | Scope.Scope | import("./internal/durable/protocol.js").Store
  >
  <T, A, E = never, R = never, S = void, Res = void>(
    options: Options<T, A, E, R, S, Res>
  ): Effect.Effect<Supervisor<T, A, E, S>, InvalidOptions, Provided<R> | Scope.Scope>
} = (options: any): Effect.Effect<any, InvalidOptions, any> =>
  typeof options?.queue === "object" && DurableConsumer in options.queue
    ? options.queue[DurableConsumer].make(options)
    : Effect.flatMap(validateOptions(options), (config) => internal.make(options, config))
const DurableConsumer = Symbol.for("effect-supervisor/Durable/ConsumerProtocol")

/**
 * What is left of a handler's (and resource's) requirements once the supervisor provides its
 * own services: each attempt's `Scope` and the `WorkerInfo`.
 *
 * @example
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * class Db extends Context.Tag("Db")<Db, { readonly save: (n: number) => Effect.Effect<void> }>() {}
 *
 * // the handler needs Db and WorkerInfo; run requires only Db: Provided<Db | WorkerInfo> is Db
 * const handler = (n: number) => Effect.zipRight(Supervisor.WorkerInfo, Effect.flatMap(Db, (db) => db.save(n)))
 * const needsDb: Effect.Effect<unknown, unknown, Supervisor.Provided<Db | Supervisor.WorkerInfo>> = Supervisor.run(
 *   [1, 2],
 *   { workers: 2, handler }
 * )
 * const program = Effect.provideService(needsDb, Db, { save: () => Effect.void })
 *
 * Effect.runPromise(program).then(() => console.log("saved")) // saved
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Provided<R> = Exclude<R, WorkerInfo | Scope.Scope>

/**
 * A service the supervisor provides to every handler and resource: which worker runs it.
 *
 * When to use: log lines and metrics per worker, or a resource keyed by worker (a connection
 * named after it), as Go's seed prints "Worker 2 processed task 7".
 *
 * Details: `id` counts workers from 0 in the order they started (`resize` adds higher ids) and
 * stays the same across the worker's restarts; `incarnation` counts its restarts.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2, 3], {
 *   workers: 2,
 *   handler: (n: number) =>
 *     Effect.map(Supervisor.WorkerInfo, (worker) => `worker ${worker.id} doubled ${n} to ${n * 2}`)
 * })
 *
 * Effect.runPromise(program).then((summary) => console.log(summary.stats.succeeded)) // 3
 * ```
 *
 * @since 0.2.0
 * @category services
 */
export const WorkerInfo: typeof workerInfo.WorkerInfo = workerInfo.WorkerInfo

/**
 * The type of the `WorkerInfo` service (its `id` and `incarnation`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const describe = (info: Supervisor.WorkerInfo["Type"]) => `worker ${info.id}, restarted ${info.incarnation} times`
 *
 * const program = Supervisor.run(["only"], {
 *   workers: 1,
 *   handler: () => Effect.map(Supervisor.WorkerInfo, describe),
 *   initial: "",
 *   combine: (_, line) => line
 * })
 *
 * Effect.runPromise(program).then((summary) => console.log(summary.state)) // worker 0, restarted 0 times
 * ```
 *
 * @since 0.2.0
 * @category services
 */
export type WorkerInfo = workerInfo.WorkerInfo

/**
 * A `Layer` that provides a supervisor as the service of `tag`; the supervisor lives as long
 * as the layer (releasing the layer behaves like `shutdownNow`).
 *
 * When to use: a supervisor shared by a program's services, declared with your own
 * `Context.Tag`. {@link Tag} declares the tag and its layer in one go.
 *
 * Details: the layer fails with `InvalidOptions` when the options are invalid; the handler's
 * requirements `R` become the layer's.
 *
 * @example
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * class Squares extends Context.Tag("Squares")<Squares, Supervisor.Supervisor<number, number>>() {}
 *
 * const SquaresLive = Supervisor.layer(Squares, {
 *   workers: 2,
 *   handler: (n: number) => Effect.succeed(n * n)
 * })
 *
 * const program = Effect.flatMap(Squares, (sup) => sup.execute(7)).pipe(Effect.provide(SquaresLive))
 *
 * Effect.runPromise(program).then(console.log) // 49
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Id, T, A, E = never, R = never, S = void, Res = void>(
  tag: Context.Tag<Id, Supervisor<T, A, E, S>>,
  options: Options<T, A, E, R, S, Res>
): Layer.Layer<Id, InvalidOptions, Provided<R>> =>
  Layer.scoped(tag, make(options)) as Layer.Layer<Id, InvalidOptions, Provided<R>>

/**
 * One shot: makes a supervisor, submits every item, shuts down (drains) and returns the
 * Summary.
 *
 * When to use: a fixed batch of work whose failures you want collected, not thrown.
 *
 * Details: `run` never fails because a task failed — failures are in `Summary.failures`.
 * It fails only with `InvalidOptions`, or `Escalated` when the restart policy gave up. For
 * fail-fast, use `Effect.forEach` or `execute`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const sumOfSquares = Supervisor.run(Array.from({ length: 100 }, (_, i) => i + 1), {
 *   workers: 5,
 *   handler: (n) => Effect.succeed(n * n),
 *   initial: 0,
 *   combine: (sum, square) => sum + square
 * }).pipe(Effect.map((summary) => summary.state))
 *
 * Effect.runPromise(sumOfSquares).then(console.log) // 338350
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <T, A, E = never, R = never, S = void, Res = void>(
  items: Iterable<T>,
  options: Options<T, A, E, R, S, Res>
): Effect.Effect<Summary<T, A, E, S>, InvalidOptions | Escalated, Provided<R>> =>
  batch(items, options, () => Effect.void)

/**
 * `run`, with a live view of the batch: `observe` gets the batch's progress stream (see
 * {@link progress}; its `total` is the number of items) and runs alongside it. The result is
 * the batch's `Summary`, once the stream has ended and `observe` returned.
 *
 * When to use: a command-line batch with a progress bar, or a job whose progress is reported
 * somewhere (a log line per second, a status endpoint), without writing `make`, `submitAll`
 * and `shutdown` by hand.
 *
 * Details: `items` are read once, up front (to know the total). Snapshots come at most once
 * per `every` (default 1 second), one at the start and one at the end. `observe` runs in its
 * own fiber: the batch does not wait for a slow observer, and the stream never backs up (a
 * slow consumer sees fewer snapshots).
 *
 * Gotchas: if `observe` fails, the batch still runs to its end, then `runWithProgress` fails
 * with that error (the summary is lost: observe with `Effect.ignore` or `catchAll` if the
 * report is best effort).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const seen: Array<string> = []
 * const program = Supervisor.runWithProgress(
 *   [1, 2, 3, 4],
 *   { workers: 2, handler: (n: number) => Effect.succeed(n * n), initial: 0, combine: (sum, sq: number) => sum + sq },
 *   (progress) => Stream.runForEach(progress, (p) => Effect.sync(() => seen.push(`${p.done}/${p.total}`)))
 * )
 *
 * Effect.runPromise(program).then((summary) => console.log(summary.state, seen.at(-1))) // 30 4/4
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const runWithProgress = <T, A, E = never, R = never, S = void, Res = void, E2 = never, R2 = never>(
  items: Iterable<T>,
  options: Options<T, A, E, R, S, Res>,
  observe: (progress: Stream.Stream<Progress, InvalidOptions>) => Effect.Effect<void, E2, R2>,
  every?: Duration.DurationInput
): Effect.Effect<Summary<T, A, E, S>, InvalidOptions | Escalated | E2, Provided<R> | R2> => {
  const tasks = Array.from(items)
  return batch(
    tasks,
    options,
    (supervisor) =>
      observe(supervisor.progress(every === undefined ? { total: tasks.length } : { total: tasks.length, every }))
  )
}

/** A batch on its own supervisor, with `during` running alongside it (joined at the end). */
const batch = <T, A, E, R, S, Res, E2, R2>(
  items: Iterable<T>,
  options: Options<T, A, E, R, S, Res>,
  during: (supervisor: Supervisor<T, A, E, S>) => Effect.Effect<void, E2, R2>
): Effect.Effect<Summary<T, A, E, S>, InvalidOptions | Escalated | E2, Provided<R> | R2> =>
  Effect.scoped(
    Effect.gen(function*() {
      // a batch keeps every failure and dropped task in its Summary
      const supervisor = yield* make({
        ...options,
        retain: { failures: Infinity, dropped: Infinity, ...options.retain }
      })
      const alongside = yield* Effect.forkScoped(during(supervisor))
      // the supervisor closes only through `shutdown` below, or escalation (then shutdown fails)
      yield* Effect.ignore(supervisor.submitAll(items))
      const summary = yield* supervisor.shutdown
      yield* Fiber.join(alongside)
      return summary
    })
  ) as Effect.Effect<Summary<T, A, E, S>, InvalidOptions | Escalated | E2, Provided<R> | R2>

/**
 * The class {@link Tag} returns: a `Context.Tag` whose service is the supervisor, with the
 * layer that makes it as `Default`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * class Mailer extends Supervisor.Tag<Mailer>()("Mailer", {
 *   workers: 2,
 *   handler: (to: string) => Effect.succeed(`sent to ${to}`)
 * }) {}
 *
 * const layer: Layer.Layer<Mailer, unknown> = Mailer.Default
 * const program = Effect.flatMap(Mailer, (mailer) => mailer.execute("ada@example.com"))
 *
 * Effect.runPromise(Effect.provide(program, layer)).then(console.log) // sent to ada@example.com
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface TagClass<Self, Id extends string, T, A, E, R, S>
  extends Context.TagClass<Self, Id, Supervisor<T, A, E, S>>
{
  /** makes the supervisor for as long as the layer lives; releasing it behaves like `shutdownNow` */
  readonly Default: Layer.Layer<Self, InvalidOptions, Provided<R>>
}

/**
 * Declares a supervisor service in one go, in the style of `Effect.Service`: a `Context.Tag`
 * class whose service type is inferred from the options, and its layer as `Default`.
 *
 * When to use: a supervisor that several parts of a program share (a job runner, a mailer),
 * without writing out `Supervisor<T, A, E, S>` in a hand-made `Context.Tag`.
 *
 * Details: `Tag<Self>()(id, options)` — `Self` is the class being declared (as with
 * `Context.Tag`), `id` its unique key. `Default` is `layer(tag, options)`: it fails with
 * `InvalidOptions` on invalid options and requires what the handler and resource require
 * (minus `Scope`). Provide another layer for the same tag (e.g. `layer(Self, testOptions)`)
 * to swap the configuration in tests.
 *
 * Gotchas: the options are fixed when the class is declared; for options that come from
 * configuration, build the layer with {@link layer} inside `Layer.unwrapEffect`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * class Thumbnails extends Supervisor.Tag<Thumbnails>()("app/Thumbnails", {
 *   workers: 4,
 *   handler: (path: string) => Effect.succeed(`${path}.thumb.png`),
 *   initial: 0,
 *   combine: (made) => made + 1
 * }) {}
 *
 * const program = Effect.gen(function*() {
 *   const thumbnails = yield* Thumbnails
 *   const first = yield* thumbnails.execute("cat.png")
 *   yield* thumbnails.submitAll(["dog.png", "owl.png"])
 *   yield* thumbnails.awaitIdle
 *   return `${first}, ${yield* thumbnails.state} made`
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(Thumbnails.Default))).then(console.log) // cat.png.thumb.png, 3 made
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const Tag = <Self>() =>
<const Id extends string, T, A, E = never, R = never, S = void, Res = void>(
  id: Id,
  options: Options<T, A, E, R, S, Res>
): TagClass<Self, Id, T, A, E, R, S> => {
  const tag = Context.Tag(id)<Self, Supervisor<T, A, E, S>>()
  // the subclass a user declares shares the key `id`, so this layer provides it too
  return Object.assign(tag, { Default: layer(tag, options) })
}

/**
 * Checks supervisor options the way `make` does, without starting anything: succeeds with
 * the options unchanged, or fails with `InvalidOptions` naming the field and the value.
 *
 * When to use: fail fast at start-up on options assembled from configuration (environment,
 * files, flags), before any layer is built; or in a health check of a config change.
 *
 * Details: accepts any value (configuration is often `unknown` until checked) and returns it
 * with its own type. `make`, `layer`, `run` and `Tag` run the same check.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const fromEnv = { workers: Number("0"), handler: (n: number) => Effect.succeed(n) }
 *
 * const program = Supervisor.validate(fromEnv).pipe(
 *   Effect.as("valid"),
 *   Effect.catchTag("InvalidOptions", (e) => Effect.succeed(e.message))
 * )
 *
 * Effect.runPromise(program).then(console.log) // workers must be an integer >= 1, got 0
 * ```
 *
 * @category validation
 * @since 0.1.0
 */
export const validate = <const O>(options: O): Effect.Effect<O, InvalidOptions> =>
  Effect.as(validateOptions(options), options)

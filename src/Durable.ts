/**
 * Durable queues: tasks that survive a crash, in SQLite (one file) or PostgreSQL (many
 * processes and machines), consumed by a supervisor with the same options as an in-process
 * one. Import from `effect-supervisor/durable` (optional peers `@effect/sql` and
 * `@effect/sql-sqlite-node` or `@effect/sql-pg`).
 *
 * Guarantees: at-least-once execution and exactly one completion record per job (a late
 * completion of a job already completed elsewhere is ignored, fenced by attempts and lease
 * owner). Leases are renewed every lease/3 while a job is held; a killed consumer's jobs are
 * claimable again once their lease runs out.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { InvalidOptions } from "./Errors.js"
import * as Codec from "./internal/durable/codec.js"
import * as consumerInternal from "./internal/durable/consumer.js"
import * as MemoryStore from "./internal/durable/memoryStore.js"
import * as internal from "./internal/durable/protocol.js"
import * as SqliteStore from "./internal/durable/sqlite.js"
import * as SqlStore from "./internal/durable/sqlStore.js"
import { isDurationInput } from "./internal/options.js"

/**
 * A durable queue definition (from {@link queue}).
 *
 * @category models
 * @since 0.1.0
 */
export type Queue<T, A, E> = internal.Queue<T, A, E>

/**
 * The id of a job (the decimal row id). The handler receives it as `ctx.id`: use it as the
 * idempotency key of the job's side effects.
 *
 * @category models
 * @since 0.1.0
 */
export type JobId = internal.JobId

/**
 * Where a job is: `queued`, `running` (leased by a consumer), `succeeded`, `dead` (a dead
 * letter: out of attempts, or a defect), `cancelled`.
 *
 * @category models
 * @since 0.1.0
 */
export type JobState = internal.JobState

/**
 * Why a delivery did not succeed: the handler's typed `Failure`, a `Timeout`, a
 * `LeaseExpired` (its consumer died or froze), or a `Defect`.
 *
 * @category models
 * @since 0.1.0
 */
export type JobError<E> = internal.JobError<E>

/**
 * A job as the store has it (from `status` / `await`).
 *
 * @category models
 * @since 0.1.0
 */
export type JobInfo<A, E> = internal.JobInfo<A, E>

/**
 * What a durable handler receives next to its task: `{ id, attempt, deadline }`.
 *
 * @category models
 * @since 0.1.0
 */
export type JobContext = internal.JobContext

/**
 * The options of a durable consumer: `Supervisor.make({ queue, workers, handler, timeout,
 * retry?, prefetch?, key?, perKey?, name?, pollInterval? })`.
 *
 * @category models
 * @since 0.1.0
 */
export type ConsumerOptions<T, A, E, R> = internal.ConsumerOptions<T, A, E, R>

/**
 * A running durable consumer: `stats`, `shutdown` (drain) and `shutdownNow` (hand back).
 *
 * @category models
 * @since 0.1.0
 */
export type Consumer = internal.Consumer

/**
 * A consumer's counts since it started.
 *
 * @category models
 * @since 0.1.0
 */
export type ConsumerStats = internal.ConsumerStats

/**
 * The store of durable queues; provided by {@link layerSqlite}, {@link layerPg},
 * {@link layer} or {@link layerMemory}.
 *
 * @category services
 * @since 0.1.0
 */
export const Store = internal.Store

/**
 * The service of {@link Store}.
 *
 * @category services
 * @since 0.1.0
 */
export type Store = internal.Store

/**
 * The database failed; `cause` is the driver's error.
 *
 * @category errors
 * @since 0.1.0
 */
export const StoreError = internal.StoreError

/**
 * @category errors
 * @since 0.1.0
 */
export type StoreError = internal.StoreError

/**
 * No job with this id in this queue (never enqueued, or deleted by retention).
 *
 * @category errors
 * @since 0.1.0
 */
export const JobNotFound = internal.JobNotFound

/**
 * @category errors
 * @since 0.1.0
 */
export type JobNotFound = internal.JobNotFound

/**
 * The options of {@link queue}.
 *
 * @category models
 * @since 0.1.0
 */
export interface QueueOptions<T, A, E, TI, AI, EI> {
  /** the task's Schema: tasks cross processes as its JSON encoding */
  readonly task: Schema.Schema<T, TI>
  readonly success: Schema.Schema<A, AI>
  readonly failure: Schema.Schema<E, EI>
  /** same key → the same job: a second offer returns the existing id */
  readonly idempotencyKey?: ((task: T) => string) | undefined
  /** the task's key (a tenant): keys are served round-robin by a consumer */
  readonly key?: ((task: T) => string) | undefined
  /** deliveries per job, lease-expired ones included (not those a stop handed back); then the job is dead */
  readonly maxAttempts: number
  /** visibility timeout of a delivery, renewed every lease/3 while the job is held */
  readonly lease: Duration.DurationInput
  /** how long finished rows stay; defaults `succeeded: "1 day"`, `dead: "30 days"` (cancelled too) */
  readonly retention?: {
    readonly succeeded?: Duration.DurationInput | undefined
    readonly dead?: Duration.DurationInput | undefined
  } | undefined
}

/** A Duration input that names a finite duration, or None (unparsable, negative, or infinite). */
const finiteDuration = (input: unknown): Option.Option<Duration.Duration> =>
  isDurationInput(input) ? Option.filter(Duration.decodeUnknown(input), Duration.isFinite) : Option.none()

const invalidQueue = (name: unknown, options: Record<string, unknown>): InvalidOptions | undefined => {
  const fail = (message: string) => new InvalidOptions({ message })
  if (typeof name !== "string" || name.length === 0) return fail(`queue name must be a non-empty string`)
  if (!Number.isInteger(options.maxAttempts) || (options.maxAttempts as number) < 1) {
    return fail(`maxAttempts must be an integer >= 1, got ${String(options.maxAttempts)}`)
  }
  // the column PostgreSQL keeps it in is a 32-bit integer: every offer would fail
  if ((options.maxAttempts as number) > 2_147_483_647) {
    return fail(`maxAttempts must be at most 2147483647, got ${String(options.maxAttempts)}`)
  }
  const lease = finiteDuration(options.lease)
  if (Option.isNone(lease) || Duration.toMillis(lease.value) < 3) {
    return fail(`lease must be a finite Duration input of at least 3 millis, got ${String(options.lease)}`)
  }
  for (const schema of ["task", "success", "failure"]) {
    if (typeof options[schema] !== "function" && typeof options[schema] !== "object") {
      return fail(`${schema} must be a Schema`)
    }
  }
  const retention = (options.retention ?? {}) as Record<string, unknown>
  for (const kind of ["succeeded", "dead"]) {
    const input = retention[kind]
    if (input === undefined) continue
    if (Option.isNone(finiteDuration(input))) {
      return fail(`retention.${kind} must be a finite Duration input, got ${String(input)}`)
    }
  }
  return undefined
}

const invalidQueues = new WeakMap<object, InvalidOptions>()

const checked = <A, E, R, T, A2, E2>(
  queue: Queue<T, A2, E2>,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | InvalidOptions, R> => {
  const invalid = invalidQueues.get(queue)
  return invalid === undefined ? effect : Effect.fail(invalid)
}

/**
 * Defines a durable queue: its name, Schemas, attempts, lease and retention. Nothing touches
 * a database until a {@link producer} or a consumer uses it.
 *
 * When to use: once per kind of job, at module level; producers and consumers in any process
 * that share the definition and the store share the queue.
 *
 * Details: `maxAttempts` counts deliveries, including those whose consumer died (a poison job
 * that kills its process becomes a dead letter instead of looping), but not those the consumer
 * handed back itself: unstarted, or interrupted by a stop (a deploy never spends an attempt). `lease` is the visibility
 * timeout: a held job's lease is renewed every lease/3.
 *
 * Gotchas: invalid options surface as `InvalidOptions` from `producer` and the consumer, not
 * here. Changing a Schema incompatibly strands queued jobs that no longer decode: they become
 * dead letters with a `Defect`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Durable } from "effect-supervisor/durable"
 *
 * class Bounced extends Schema.TaggedError<Bounced>()("Bounced", { to: Schema.String }) {}
 *
 * const Emails = Durable.queue("emails", {
 *   task: Schema.Struct({ to: Schema.String, subject: Schema.String }),
 *   success: Schema.Void,
 *   failure: Bounced,
 *   idempotencyKey: (email) => `${email.to}:${email.subject}`,
 *   maxAttempts: 5,
 *   lease: "30 seconds"
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const queue = <T, A, E, TI, AI, EI>(
  name: string,
  options: QueueOptions<T, A, E, TI, AI, EI>
): Queue<T, A, E> => {
  const invalid = invalidQueue(name, options as unknown as Record<string, unknown>)
  // whole milliseconds, rounded up: the store keeps integers
  const toMillis = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
    Option.match(Duration.decodeUnknown(input ?? fallback), {
      onNone: () => 0,
      onSome: (duration) => Math.ceil(Duration.toMillis(duration))
    })
  const definition: Queue<T, A, E> = {
    name,
    task: options.task,
    success: options.success,
    failure: options.failure,
    idempotencyKey: options.idempotencyKey,
    key: options.key,
    maxAttempts: options.maxAttempts,
    leaseMillis: invalid === undefined ? toMillis(options.lease, 0) : 0,
    retention: {
      succeededMillis: toMillis(options.retention?.succeeded, "1 day"),
      deadMillis: toMillis(options.retention?.dead, "30 days")
    },
    [internal.ConsumerProtocol]: {
      make: (consumerOptions) => checked(definition, consumerInternal.make(consumerOptions))
    }
  }
  if (invalid !== undefined) invalidQueues.set(definition, invalid)
  return definition
}

/**
 * When and how to run an offered job: after `delay`, at `runAt`, or ahead of lower
 * `priority` jobs (higher first; default 0).
 *
 * @category models
 * @since 0.1.0
 */
export interface OfferOptions {
  /** finite; rounded up to whole milliseconds */
  readonly delay?: Duration.DurationInput | undefined
  /** a valid `Date`; when given, `delay` is not used */
  readonly runAt?: Date | undefined
  /** an integer that fits 32 bits (a PostgreSQL `integer`) */
  readonly priority?: number | undefined
}

const MAX_PRIORITY = 2 ** 31 - 1

/** An offer's due time and priority, or what is wrong with them (the same rules on every store). */
const timingOf = (
  options: OfferOptions | undefined
): Pick<internal.NewJob, "priority" | "runAt" | "delayMillis"> | InvalidOptions => {
  const priority = options?.priority ?? 0
  if (!Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY) {
    return new InvalidOptions({
      message: `priority must be an integer from ${-MAX_PRIORITY} to ${MAX_PRIORITY}, got ${priority}`
    })
  }
  const runAt = options?.runAt
  if (runAt !== undefined && !(runAt instanceof Date && Number.isFinite(runAt.getTime()))) {
    return new InvalidOptions({ message: `runAt must be a valid Date, got ${String(runAt)}` })
  }
  let delayMillis = 0
  if (options?.delay !== undefined) {
    const delay = finiteDuration(options.delay)
    if (Option.isNone(delay)) {
      return new InvalidOptions({ message: `delay must be a finite duration, got ${String(options.delay)}` })
    }
    delayMillis = Math.ceil(Duration.toMillis(delay.value))
  }
  return { priority, runAt: runAt === undefined ? null : runAt.getTime(), delayMillis }
}

/**
 * The producer side of one durable queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface Producer<T, A, E> {
  /**
   * enqueues one job; with an `idempotencyKey`, a second offer of the same key returns the
   * existing id. A task the schema refuses fails with its `ParseError`, invalid options with
   * `InvalidOptions`: nothing is enqueued.
   */
  readonly offer: (
    task: T,
    options?: OfferOptions
  ) => Effect.Effect<JobId, internal.StoreError | InvalidOptions | ParseResult.ParseError>
  /** enqueues many jobs in bulk statements (the fast path); ids in the tasks' order; all or none are valid */
  readonly offerAll: (
    tasks: Iterable<T>,
    options?: OfferOptions
  ) => Effect.Effect<Array<JobId>, internal.StoreError | InvalidOptions | ParseResult.ParseError>
  /**
   * the job as the store has it; `JobNotFound` if there is none. A stored result or last error
   * the queue's schemas do not decode (written under other ones) is a `StoreError` naming the
   * job, not a defect; a typed failure that no longer decodes shows as a `Defect` with its JSON.
   */
  readonly status: (id: JobId) => Effect.Effect<JobInfo<A, E>, internal.JobNotFound | internal.StoreError>
  /** waits until the job is `succeeded`, `dead` or `cancelled` (polls the store) */
  readonly await: (
    id: JobId,
    options?: { readonly pollInterval?: Duration.DurationInput | undefined }
  ) => Effect.Effect<JobInfo<A, E>, internal.JobNotFound | internal.StoreError | InvalidOptions>
  /** queued: it never runs; running: interrupted where it runs (at its next renewal); false if finished */
  readonly cancel: (id: JobId) => Effect.Effect<boolean, internal.StoreError>
  /** dead letters (finished at least `olderThan` ago) go back to the queue with fresh attempts */
  readonly retryDead: (
    options?: { readonly olderThan?: Duration.DurationInput | undefined }
  ) => Effect.Effect<number, internal.StoreError | InvalidOptions>
}

const states: Record<number, JobState> = { 1: "succeeded", 2: "dead", 3: "cancelled" }

/**
 * The producer of a durable queue, over the {@link Store} in context.
 *
 * When to use: wherever jobs are created (a request handler, a cron, another job).
 *
 * Details: `offer`/`offerAll` are one INSERT per 5,000 jobs. Inside the caller's own
 * `sql.withTransaction` (with {@link layer} over the same `SqlClient`) the jobs commit or
 * roll back with the caller's writes: a transactional outbox — a job whose transaction rolls
 * back never existed and never runs. On PostgreSQL the insert wakes idle consumers
 * (LISTEN/NOTIFY) when it commits. A store with its own client ({@link layerSqlite},
 * {@link layerPg}) never joins the caller's transaction: its jobs commit on their own.
 *
 * Gotchas: `await` polls `status`; it is for scripts and tests, not for request paths that
 * need the result at once. An id returned inside a transaction that rolled back names
 * nothing (SQLite may give the same id to the next job). `offerAll` of more than 5,000 jobs
 * is several statements, each committed on its own unless a transaction is open around them.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Durable } from "effect-supervisor/durable"
 *
 * const Squares = Durable.queue("squares", {
 *   task: Schema.Number, success: Schema.Number, failure: Schema.Never, maxAttempts: 3, lease: "10 seconds"
 * })
 *
 * const program = Effect.gen(function*() {
 *   const squares = yield* Durable.producer(Squares)
 *   const id = yield* squares.offer(7)
 *   return yield* squares.status(id) // { state: "queued", attempts: 0, ... }
 * }).pipe(Effect.provide(Durable.layerMemory))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const producer = <T, A, E>(
  queue: Queue<T, A, E>
): Effect.Effect<Producer<T, A, E>, InvalidOptions, internal.Store> =>
  checked(
    queue,
    Effect.map(internal.Store, (store): Producer<T, A, E> => {
      const codec = Codec.make(queue)
      /** the jobs of an offer; nothing is enqueued when a task or the options are invalid */
      const jobsOf = (tasks: Iterable<T>, options: OfferOptions | undefined) =>
        Effect.suspend((): Effect.Effect<Array<internal.NewJob>, InvalidOptions | ParseResult.ParseError> => {
          const timing = timingOf(options)
          if (timing instanceof InvalidOptions) return Effect.fail(timing)
          const { delayMillis, priority, runAt } = timing
          const jobs: Array<internal.NewJob> = []
          let current: T | undefined
          try {
            for (const task of tasks) {
              current = task
              jobs.push({
                payload: codec.encodeTask(task),
                idempotencyKey: queue.idempotencyKey === undefined ? null : queue.idempotencyKey(task),
                key: queue.key === undefined ? null : queue.key(task),
                priority,
                runAt,
                delayMillis,
                maxAttempts: queue.maxAttempts
              })
            }
          } catch (error) {
            // a task the schema refuses (a refinement, or a value typed around the schema)
            if (ParseResult.isParseError(error)) return Effect.fail(error)
            if (error instanceof Codec.NotJson) {
              return Effect.fail(ParseResult.parseError(new ParseResult.Type(queue.task.ast, current, error.message)))
            }
            throw error
          }
          return Effect.succeed(jobs)
        })
      const status = (id: JobId): Effect.Effect<JobInfo<A, E>, internal.JobNotFound | internal.StoreError> =>
        Effect.flatMap(store.get(queue.name, id), (row) => {
          if (row === undefined) {
            return Effect.fail<internal.JobNotFound | internal.StoreError>(
              new internal.JobNotFound({ queue: queue.name, id })
            )
          }
          const state: JobState = states[row.status] ??
            (row.leaseUntil !== null && row.leaseUntil >= row.now ? "running" : "queued")
          // a row written by another version of the queue's schemas (or by hand) is there all
          // the same: the caller learns what it holds as a StoreError, not as a defect
          const decoded = <X>(what: string, decode: () => X) =>
            Effect.try({
              try: decode,
              catch: (cause) =>
                new internal.StoreError({
                  message:
                    `job ${id} of queue ${queue.name}: its stored ${what} does not decode with the queue's schema: ${
                      cause instanceof Error ? cause.message : String(cause)
                    }`,
                  cause
                })
            })
          return Effect.zipWith(
            decoded("result", () => state === "succeeded" ? codec.decodeResult(row.result) : undefined),
            decoded("last error", () => row.lastError === null ? undefined : codec.decodeError(row.lastError)),
            (result, lastError): JobInfo<A, E> => ({
              id: row.id,
              state,
              attempts: row.attempts,
              maxAttempts: row.maxAttempts,
              runAt: new Date(row.runAt),
              createdAt: new Date(row.createdAt),
              finishedAt: row.finishedAt === null ? undefined : new Date(row.finishedAt),
              result,
              lastError
            })
          )
        })
      return {
        offer: (task, options) =>
          Effect.flatMap(
            jobsOf([task], options),
            (jobs) => Effect.map(store.enqueue(queue.name, jobs), (ids) => ids[0])
          ),
        offerAll: (tasks, options) =>
          Effect.flatMap(
            jobsOf(tasks, options),
            (jobs) => Effect.map(store.enqueue(queue.name, jobs), (ids) => Array.from(ids))
          ),
        status,
        await: (id, options) => {
          const interval = finiteDuration(options?.pollInterval ?? 50)
          if (Option.isNone(interval)) {
            return Effect.fail(
              new InvalidOptions({
                message: `pollInterval must be a finite Duration input, got ${String(options?.pollInterval)}`
              })
            )
          }
          const every = interval.value
          const loop: Effect.Effect<JobInfo<A, E>, internal.JobNotFound | internal.StoreError> = Effect.flatMap(
            status(id),
            (info) =>
              info.state === "queued" || info.state === "running"
                ? Effect.zipRight(Effect.sleep(every), loop)
                : Effect.succeed(info)
          )
          return loop
        },
        cancel: (id) => store.cancel(queue.name, id),
        retryDead: (options) => {
          if (options?.olderThan === undefined) return store.retryDead(queue.name, 0)
          const olderThan = finiteDuration(options.olderThan)
          if (Option.isNone(olderThan)) {
            return Effect.fail(
              new InvalidOptions({
                message: `olderThan must be a finite Duration input, got ${String(options.olderThan)}`
              })
            )
          }
          return store.retryDead(queue.name, Math.floor(Duration.toMillis(olderThan.value)))
        }
      }
    })
  )

/**
 * Starts a durable consumer of `options.queue` in the current `Scope` (the same as
 * `Supervisor.make({ queue, ... })`).
 *
 * When to use: in every process that should work on the queue; run several (processes or
 * machines) over one PostgreSQL to share the work.
 *
 * Details: a claimer claims batches (one statement each) and hands the jobs to an in-process
 * supervisor of `workers` fibers; outcomes are acknowledged in batches. `timeout` is
 * required and bounds one delivery; `retry` is durable (the next due time is written, any
 * consumer may run it) and stops at the queue's `maxAttempts`. Prefetch adapts: with fast
 * handlers a consumer claims up to 1,024 jobs ahead, with slow ones (handler time far above a
 * claim round trip) at most about one more than its free workers, so a peer is not starved.
 * A job is never started past its local lease deadline; a renewal that does not return a job
 * (lease lost, cancelled) interrupts it locally. Closing the scope (or `shutdownNow`) stops
 * claiming, interrupts running jobs and hands every job it holds back at once, its attempt
 * returned (a deploy never dead-letters a job); `shutdown` runs what it holds first.
 * Acknowledgements are flushed either way.
 *
 * Gotchas: a job can run more than once (a consumer that died after the handler ended but
 * before its acknowledgement was written, or a stop that interrupted it); make side effects
 * idempotent with `ctx.id`. `ctx.attempt` after a hand back is the same number again.
 * `state`/`combine` of an in-process supervisor do not exist here: each job's outcome is in
 * the store.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Durable } from "effect-supervisor/durable"
 *
 * const Squares = Durable.queue("squares", {
 *   task: Schema.Number, success: Schema.Number, failure: Schema.Never, maxAttempts: 3, lease: "10 seconds"
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const squares = yield* Durable.producer(Squares)
 *   const id = yield* squares.offer(7)
 *   yield* Durable.consumer({
 *     queue: Squares,
 *     workers: 4,
 *     timeout: "5 seconds",
 *     handler: (n) => Effect.succeed(n * n)
 *   })
 *   return yield* squares.await(id) // { state: "succeeded", result: 49, ... }
 * })).pipe(Effect.provide(Durable.layerMemory))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const consumer = <T, A, E, R>(
  options: ConsumerOptions<T, A, E, R>
): Effect.Effect<Consumer, InvalidOptions, R | Scope.Scope | internal.Store> =>
  options.queue[internal.ConsumerProtocol].make(options)

/**
 * The options of {@link layerWith}.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions {
  /** the jobs table (default `effect_supervisor_jobs`); a plain SQL identifier */
  readonly table?: string | undefined
}

/**
 * The store over the `SqlClient` the application already has (PostgreSQL or SQLite), in
 * table `effect_supervisor_jobs`; migrations run when the layer is built.
 *
 * When to use: the app has its own `SqlClient` and wants enqueue inside its transactions
 * (transactional outbox). Otherwise {@link layerSqlite} / {@link layerPg} are shorter.
 *
 * Details: wake-ups use LISTEN/NOTIFY when the client is a `PgClient`, `PRAGMA data_version`
 * polled every 20 ms on SQLite, and a poll fallback either way. Every store statement run
 * inside a `withTransaction` joins that transaction (that is how @effect/sql works), so
 * `offer` inside the app's transaction commits or rolls back with it.
 *
 * Gotchas: on SQLite, open the client with a `busy_timeout` (as {@link layerSqlite} does) if
 * several processes share the file. The SQLite client has one connection per process: while
 * the app holds a transaction open, the consumers in that process wait for it (claims,
 * renewals) — keep such transactions far shorter than a lease. Offer only inside
 * transactions of this same client: @effect/sql would run the statements on whatever
 * transaction is open around them.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Durable } from "effect-supervisor/durable"
 *
 * const StoreLive = Durable.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename: "app.db" })))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (
  options: LayerOptions
): Layer.Layer<internal.Store, internal.StoreError, SqlClient.SqlClient> =>
  Layer.effect(internal.Store, SqlStore.make(options))

/**
 * {@link layerWith} with the default table.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { PgClient } from "@effect/sql-pg"
 * import { Redacted } from "effect"
 * import { Durable } from "effect-supervisor/durable"
 *
 * const StoreLive = Durable.layer.pipe(
 *   Layer.provideMerge(PgClient.layer({ url: Redacted.make("postgres://postgres@127.0.0.1/test") }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<internal.Store, internal.StoreError, SqlClient.SqlClient> = layerWith({})

/** the driver's own words, when it has any ("database \"x\" does not exist"): after a colon */
const reason = (cause: unknown): string => cause instanceof Error && cause.message !== "" ? `: ${cause.message}` : ""

/**
 * The options of {@link layerSqlite}.
 *
 * @category models
 * @since 0.1.0
 */
export interface SqliteOptions extends LayerOptions {
  readonly file: string
  /**
   * `"NORMAL"` (default): WAL survives kill -9 of any process, not a power loss or an OS
   * crash (the last commits may be lost). `"FULL"`: survives power loss, each commit fsyncs.
   */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL" | "EXTRA" | undefined
  /** how long a writer waits for another process's lock; default 10 seconds */
  readonly busyTimeout?: Duration.DurationInput | undefined
}

/**
 * The store in one SQLite file (WAL): zero setup, several processes on one machine may share
 * it. Migrations run when the layer is built.
 *
 * When to use: a single machine (a CLI, a desktop or edge service, a small server).
 *
 * Details: every write is one statement, so it takes the write lock at its start (waiting
 * up to `busyTimeout` for another process) — no "database is locked" under contention.
 *
 * Gotchas: better-sqlite3 is synchronous: a statement blocks the event loop for its
 * duration (microseconds to a few ms for batches). Not for network filesystems. A
 * `synchronous` other than the four names (upper case) or a `busyTimeout` that is not a
 * Duration fails the layer with a `StoreError` before the file is opened. The store
 * has its own client: an `offer` inside the app's own `withTransaction` is not part of it
 * (for a transactional outbox use {@link layer} over the app's client).
 *
 * @example
 * ```ts
 * import { Durable } from "effect-supervisor/durable"
 *
 * const StoreLive = Durable.layerSqlite({ file: "jobs.db", synchronous: "FULL" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<internal.Store, internal.StoreError> => {
  if (typeof options.file !== "string" || options.file === "") {
    // better-sqlite3 opens "" as a temporary database, gone when the process ends
    return Layer.fail(
      new internal.StoreError({
        message: `file must be a non-empty path, got ${JSON.stringify(options.file)}`,
        cause: options.file
      })
    )
  }
  const mistake = SqliteStore.invalid(options)
  if (mistake !== undefined) return Layer.fail(mistake)
  return Layer.unwrapEffect(Effect.map(
    peer("@effect/sql-sqlite-node", () => import("@effect/sql-sqlite-node/SqliteClient")),
    (SqliteClient) =>
      Layer.effect(internal.Store, SqliteStore.make(options)).pipe(
        // better-sqlite3 throws when it cannot open the file (no such directory, no access):
        // a defect of the client's layer, turned into the StoreError every other failure is
        Layer.provide(Layer.catchAllCause(SqliteClient.layer({ filename: options.file }), (cause) => {
          // an interrupted build stays an interruption (it has no failure to report)
          if (Cause.isInterruptedOnly(cause)) return Layer.failCause(cause as Cause.Cause<never>)
          const error = Cause.squash(cause)
          return Layer.fail(
            new internal.StoreError({ message: `SQLite: cannot open ${options.file}${reason(error)}`, cause: error })
          )
        })),
        Layer.mapError((cause) =>
          cause instanceof internal.StoreError
            ? cause
            : new internal.StoreError({ message: `SQLite: ${String(cause)}`, cause })
        )
      )
  ))
}

/**
 * A backend's client module, loaded when its layer is built: `effect-supervisor/durable` loads
 * with `@effect/sql` and only the backend in use installed.
 */
const peer = <M>(name: string, load: () => Promise<M>): Effect.Effect<M, internal.StoreError> =>
  Effect.tryPromise({
    try: load,
    catch: (cause) =>
      new internal.StoreError({
        message: `${name} is not installed: it is the optional peer of effect-supervisor/durable for this store ` +
          `(npm i ${name}@~0.53.0)`,
        cause
      })
  })

/**
 * The options of {@link layerPg}.
 *
 * @category models
 * @since 0.1.0
 */
export interface PgOptions extends LayerOptions {
  readonly url: string
  readonly maxConnections?: number | undefined
  /**
   * how long a new connection (or a wait for a free one of the pool) may take before the
   * operation fails with a `StoreError` (default 10 seconds). pg's own default is no bound:
   * a server that accepts and never answers, or a network that drops packets, would hang the
   * layer's build, every claim and acknowledgement, and a consumer's shutdown.
   */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * The store in PostgreSQL: any number of processes and machines share the queues; claims use
 * `FOR UPDATE SKIP LOCKED`, wake-ups LISTEN/NOTIFY. Migrations run when the layer is built
 * (one process runs them, under an advisory lock).
 *
 * When to use: several processes or machines share the work, or the app already runs
 * PostgreSQL.
 *
 * Gotchas: the store has its own connection pool: an `offer` inside the app's own
 * `withTransaction` is not part of it (for a transactional outbox use {@link layer} over the
 * app's `PgClient`).
 *
 * @example
 * ```ts
 * import { Durable } from "effect-supervisor/durable"
 *
 * const StoreLive = Durable.layerPg({ url: "postgres://postgres@127.0.0.1:5432/test" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPg = (options: PgOptions): Layer.Layer<internal.Store, internal.StoreError> => {
  const { maxConnections } = options
  // checked here: a pool of -1 connections never hands one out, and the layer would wait forever
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)) {
    return Layer.fail(
      new internal.StoreError({
        message: `maxConnections must be an integer >= 1, got ${String(maxConnections)}`,
        cause: maxConnections
      })
    )
  }
  const timeout = options.connectTimeout ?? "10 seconds"
  const connectTimeout = finiteDuration(timeout)
  if (Option.isNone(connectTimeout) || Duration.toMillis(connectTimeout.value) < 1) {
    return Layer.fail(
      new internal.StoreError({
        message: `connectTimeout must be a finite Duration input of at least 1 millisecond, got ${
          String(options.connectTimeout)
        }`,
        cause: options.connectTimeout
      })
    )
  }
  return Layer.unwrapEffect(Effect.map(
    peer("@effect/sql-pg", () => import("@effect/sql-pg/PgClient")),
    (PgClient) =>
      Layer.provide(
        Layer.effect(internal.Store, SqlStore.make({ table: options.table, ownClient: true })),
        PgClient.layer({
          url: Redacted.make(options.url),
          // whole milliseconds: pg's timer takes them as they come
          connectTimeout: Math.ceil(Duration.toMillis(connectTimeout.value)),
          ...(maxConnections === undefined ? {} : { maxConnections })
        }).pipe(
          Layer.mapError((cause) =>
            new internal.StoreError({ message: `PostgreSQL: ${cause.message}${reason(cause.cause)}`, cause })
          )
        )
      )
  ))
}

/**
 * The store in memory, on the Effect `Clock`: the same leases, fencing, dead letters and
 * idempotency as the SQL stores, no database.
 *
 * When to use: tests — leases expire with `TestClock.adjust`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Durable } from "effect-supervisor/durable"
 *
 * const test = Effect.void.pipe(Effect.provide(Durable.layerMemory))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<internal.Store> = Layer.effect(internal.Store, MemoryStore.make)

/**
 * The durable queue's shapes that the root entry point may see: the queue definition with
 * the consumer protocol it carries, the consumer's options and handle, and the store
 * service. Nothing here loads `@effect/sql`, so `Supervisor.ts` can dispatch to a durable
 * consumer without the optional peers installed.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { InvalidOptions, TaskTimeout } from "../../Errors.js"

/** @internal */
export const ConsumerProtocol: unique symbol = Symbol.for("effect-supervisor/Durable/ConsumerProtocol")

/** The store failed (a database error); `cause` is the driver's error. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly message: string
  readonly cause: unknown
}> {}

/** No job with this id in this queue. */
export class JobNotFound extends Data.TaggedError("JobNotFound")<{
  readonly queue: string
  readonly id: string
}> {}

/** The id of a job: the decimal row id, unique within the store. */
export type JobId = string

/**
 * Whether `id` can name a row (a positive 64-bit integer in decimal): any other id names no job
 * on both dialects, where PostgreSQL would refuse the statement (and in memory).
 *
 * @internal
 */
export const isRowId = (id: string): boolean =>
  /^[1-9][0-9]{0,18}$/.test(id) && (id.length < 19 || id <= "9223372036854775807")

/** Where a job is. `running` means queued and currently leased by a consumer. */
export type JobState = "queued" | "running" | "succeeded" | "dead" | "cancelled"

/** Why a job's last delivery did not succeed. */
export type JobError<E> =
  | { readonly _tag: "Failure"; readonly error: E }
  | { readonly _tag: "Timeout" }
  | { readonly _tag: "LeaseExpired" }
  | { readonly _tag: "Defect"; readonly message: string }

/** A job as the store has it. */
export interface JobInfo<A, E> {
  readonly id: JobId
  readonly state: JobState
  readonly attempts: number
  readonly maxAttempts: number
  readonly runAt: Date
  readonly createdAt: Date
  readonly finishedAt: Date | undefined
  /** the value of a succeeded job */
  readonly result: A | undefined
  /** the error of the last delivery that did not succeed */
  readonly lastError: JobError<E> | undefined
}

/** What the consumer passes to the handler next to the task. */
export interface JobContext {
  /** the job's id: use it as the idempotency key of the handler's side effects */
  readonly id: JobId
  /** this delivery's number, from 1; a delivery a stop handed back does not count, so the next has the same */
  readonly attempt: number
  /** the local lease deadline at the time the job started (renewals push it forward) */
  readonly deadline: Date
}

/** The options of a durable consumer (`Supervisor.make({ queue, ... })`). */
export interface ConsumerOptions<T, A, E, R> {
  readonly queue: Queue<T, A, E>
  readonly workers: number
  readonly handler: (task: T, context: JobContext) => Effect.Effect<A, E, R>
  /** required: bounds one delivery (a live process renews its lease for ever otherwise) */
  readonly timeout: Duration.DurationInput
  /** durable: the next delivery's due time is written to the store */
  readonly retry?: Schedule.Schedule<unknown, NoInfer<E> | TaskTimeout> | undefined
  /** jobs claimed ahead of free workers; default adaptive (see Durable.consumer) */
  readonly prefetch?: number | undefined
  /** the task's key for round-robin between keys (default: the queue's `key`) */
  readonly key?: ((task: T) => string) | undefined
  readonly perKey?: number | undefined
  readonly name?: string | undefined
  /** how long an idle consumer waits between polls when no wake-up arrives; default 1 second */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/** Counts of one consumer since it started. */
export interface ConsumerStats {
  /** deliveries claimed */
  readonly claimed: number
  readonly succeeded: number
  /** failed deliveries that were scheduled again */
  readonly retried: number
  /** dead letters this consumer wrote for its own deliveries (not those its claims dead-letter) */
  readonly dead: number
  /** jobs given back to the queue, their attempt returned: unstarted, or interrupted by a stop */
  readonly handedBack: number
  /** jobs dropped locally: lease lost or expired, or cancelled */
  readonly dropped: number
  /** acknowledgements that lost to another completion (fenced out) */
  readonly fenced: number
  /**
   * deliveries that ran past `timeout`, each retried one too (not one a stop then handed back,
   * nor a job dropped — cancelled, lease lost — before its timeout ran out); the
   * `supervisor_tasks_timeouts` metric of the consumer's supervisor counts the same
   */
  readonly timeouts: number
  /** jobs held now: waiting, running, or outcome not yet written */
  readonly held: number
  readonly running: number
}

/** A running durable consumer. */
export interface Consumer {
  readonly stats: Effect.Effect<ConsumerStats>
  /** stops claiming, runs every job it holds, writes their outcomes */
  readonly shutdown: Effect.Effect<ConsumerStats>
  /** stops claiming, interrupts running jobs, hands back every unstarted one at once */
  readonly shutdownNow: Effect.Effect<ConsumerStats>
}

/** A durable queue definition (from `Durable.queue`). */
export interface Queue<T, A, E> {
  readonly name: string
  readonly task: Schema.Schema<T, any>
  readonly success: Schema.Schema<A, any>
  readonly failure: Schema.Schema<E, any>
  readonly idempotencyKey: ((task: T) => string) | undefined
  readonly key: ((task: T) => string) | undefined
  readonly maxAttempts: number
  readonly leaseMillis: number
  readonly retention: { readonly succeededMillis: number; readonly deadMillis: number }
  readonly [ConsumerProtocol]: {
    readonly make: <R>(
      options: ConsumerOptions<T, A, E, R>
    ) => Effect.Effect<Consumer, InvalidOptions, R | Scope.Scope | Store>
  }
}

// ---- the store: untyped rows (payloads are JSON text), one implementation per backend ----

/** @internal */
export interface NewJob {
  /** the encoded task as text: JSON, or a marker for `undefined` (see codec.ts) */
  readonly payload: string
  readonly idempotencyKey: string | null
  readonly key: string | null
  readonly priority: number
  /** absolute due time (ms since epoch) or a delay from the store's now */
  readonly runAt: number | null
  readonly delayMillis: number
  readonly maxAttempts: number
}

/** @internal */
export interface ClaimedJob {
  readonly id: JobId
  readonly payload: string
  readonly attempts: number
  /** the job's own, stored when it was offered: what the claim's dead-lettering goes by too */
  readonly maxAttempts: number
}

/**
 * How a held delivery ends in the store; fenced by `attempts` and the lease owner.
 * `status` 0 = back to the queue: after `delayMillis` (a retry), or, refunded (a hand back), at
 * its old due time, so it keeps its place in line as an expired lease does; 1 = ok, 2 = dead.
 *
 * @internal
 */
export interface Settlement {
  readonly id: JobId
  readonly attempts: number
  readonly status: 0 | 1 | 2
  readonly delayMillis: number
  /** give the attempt back: the delivery never started, or the consumer interrupted it to stop */
  readonly refund: boolean
  readonly result: string | null
  readonly error: string | null
}

/** @internal */
export interface StoredJob {
  readonly id: JobId
  readonly status: number
  readonly attempts: number
  readonly maxAttempts: number
  readonly runAt: number
  readonly leaseUntil: number | null
  readonly createdAt: number
  readonly finishedAt: number | null
  readonly lastError: string | null
  readonly result: string | null
  /** the store's clock when the row was read */
  readonly now: number
}

/**
 * A backend of durable queues. Every operation is one statement (or one transaction) and
 * safe under concurrent consumers in several processes.
 *
 * @internal
 */
export interface StoreService {
  readonly enqueue: (queue: string, jobs: ReadonlyArray<NewJob>) => Effect.Effect<ReadonlyArray<JobId>, StoreError>
  readonly claim: (
    queue: string,
    owner: string,
    limit: number,
    leaseMillis: number
  ) => Effect.Effect<ReadonlyArray<ClaimedJob>, StoreError>
  /** extends the leases still owned; returns the (id, attempts) pairs it extended */
  readonly renew: (
    queue: string,
    owner: string,
    ids: ReadonlyArray<JobId>,
    leaseMillis: number
  ) => Effect.Effect<ReadonlyArray<{ readonly id: JobId; readonly attempts: number }>, StoreError>
  /** writes outcomes; returns the ids whose settlement won (the rest were fenced out) */
  readonly settle: (
    queue: string,
    owner: string,
    settlements: ReadonlyArray<Settlement>
  ) => Effect.Effect<ReadonlyArray<JobId>, StoreError>
  readonly get: (queue: string, id: JobId) => Effect.Effect<StoredJob | undefined, StoreError>
  /** queued or running → cancelled; false when the job was already finished or unknown */
  readonly cancel: (queue: string, id: JobId) => Effect.Effect<boolean, StoreError>
  /** dead letters finished before `now - olderThanMillis` go back to the queue with fresh attempts */
  readonly retryDead: (queue: string, olderThanMillis: number) => Effect.Effect<number, StoreError>
  /** deletes finished rows past retention, in batches; returns how many */
  readonly cleanup: (
    queue: string,
    retention: { readonly succeededMillis: number; readonly deadMillis: number },
    batch: number
  ) => Effect.Effect<number, StoreError>
  /** ms until the earliest queued job becomes claimable (0 if one is now), undefined if none */
  readonly nextDue: (queue: string) => Effect.Effect<number | undefined, StoreError>
  /** calls `signal` whenever jobs may have become claimable (enqueue, hand back) */
  readonly watch: (queue: string, signal: () => void) => Effect.Effect<void, never, Scope.Scope>
}

/**
 * The store of durable queues, provided by `Durable.layerSqlite`, `Durable.layerPg`,
 * `Durable.layer` or `Durable.layerMemory`.
 */
export class Store extends Context.Tag("effect-supervisor/Durable/Store")<Store, StoreService>() {}

/** Status codes in the `status` column. @internal */
export const Status = { Ready: 0, Ok: 1, Dead: 2, Cancelled: 3 } as const

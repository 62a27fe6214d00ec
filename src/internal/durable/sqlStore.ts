/**
 * The store of durable queues over `@effect/sql`: our own table, the same statements on
 * PostgreSQL and SQLite (the dialects differ in DDL, "now", and `FOR UPDATE SKIP LOCKED`).
 *
 * Times are integer milliseconds from the database's clock, so consumers on machines whose
 * clocks disagree still agree on when a lease ran out.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ClaimedJob, JobId, NewJob, Settlement, StoredJob, StoreService } from "./protocol.js"
import { isRowId, Status, StoreError } from "./protocol.js"

/** @internal */
export interface SqlStoreOptions {
  /** the jobs table; its indexes and trigger are named after it */
  readonly table?: string | undefined
  /**
   * The client is the store's own (layerSqlite, layerPg), not the application's: its
   * statements never join a transaction open around them. @effect/sql runs every statement
   * inside a `withTransaction` on that transaction's connection, whichever client it came
   * from — so without this, an `offer` inside the app's transaction on another database (or
   * dialect) would run our SQL there.
   */
  readonly ownClient?: boolean | undefined
}

type Dialect = "pg" | "sqlite"

const wrap = <A, R>(message: string, effect: Effect.Effect<A, SqlError.SqlError, R>) =>
  Effect.mapError(effect, (cause) => new StoreError({ message: `${message}: ${cause.message}`, cause }))

const TableName = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/

/** rows per INSERT: one statement stays short enough not to hold SQLite's write lock for long */
const INSERT_CHUNK = 5000
/** rows per settle statement */
const SETTLE_CHUNK = 1000
/**
 * The payload of our notifications. Not empty: @effect/sql-pg's `listen` drops notifications
 * whose payload is empty, and consumers in other processes would then wake only on their poll.
 */
const WAKE = "jobs"
/** The payload of the listener's heartbeat: heard, it proves the connection; it wakes no one. */
const PING = "ping"
/**
 * How often an idle listener proves its connection. @effect/sql-pg swallows the errors of its
 * listening connection: one that dies (a server restart, `pg_terminate_backend`, a network
 * cut) is never replaced, and its consumers would wake only on their poll from then on.
 */
const HEARTBEAT_MILLIS = 2000
/**
 * While a new LISTEN has not heard its first heartbeat: the first pause between two of them
 * (doubling up to `HEARTBEAT_MILLIS`), and how long it may take before the session gives up.
 */
const CONNECTING_PING_MILLIS = 100
const CONNECT_MILLIS = 10_000

const migrations = (dialect: Dialect, table: string): ReadonlyArray<string> => {
  const id = dialect === "pg" ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY AUTOINCREMENT"
  return [
    // PostgreSQL: half of each page left free, so a claim (which changes no indexed column)
    // writes the row's new version on its own page, a HOT update that adds no index entries:
    // 10,000 claims 96 -> 46 ms, their settles 52 -> 39 ms (EXPLAIN ANALYZE; 85% HOT instead of
    // none); the pages a backlog takes double, its inserts cost no more
    `CREATE TABLE IF NOT EXISTS ${table} (
      ${id},
      queue TEXT NOT NULL,
      idempotency_key TEXT,
      job_key TEXT,
      payload TEXT NOT NULL,
      status SMALLINT NOT NULL DEFAULT 0,
      priority INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL,
      run_at BIGINT NOT NULL,
      lease_until BIGINT,
      lease_owner TEXT,
      created_at BIGINT NOT NULL,
      finished_at BIGINT,
      last_error TEXT,
      result TEXT
    )${dialect === "pg" ? " WITH (fillfactor = 50)" : ""}`,
    // claims read only ready rows: finished ones never slow them down
    `CREATE INDEX IF NOT EXISTS ${table}_claim ON ${table} (queue, priority DESC, run_at, id) WHERE status = 0`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${table}_idempotency ON ${table} (queue, idempotency_key)
      WHERE idempotency_key IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${table}_finished ON ${table} (queue, status, finished_at) WHERE status <> 0`,
    ...(dialect === "pg"
      ? [
        // one notification per INSERT statement (not per row): consumers wake on enqueue,
        // including an enqueue inside the caller's transaction (delivered at its commit);
        // replaced at every start, so a table made by an older version gets today's payload
        `CREATE OR REPLACE FUNCTION ${table}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_notify('${table}', '${WAKE}'); RETURN NULL; END $$`,
        `DO $$ BEGIN
          CREATE TRIGGER ${table}_notify AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_notify();
        EXCEPTION WHEN duplicate_object THEN NULL; END $$`
      ]
      : [])
  ]
}

/** @internal */
export const make = (
  options: SqlStoreOptions = {}
): Effect.Effect<StoreService, StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    // rows as the database names their columns: an app's client may transform names
    // (`transformResultNames: snakeToCamel`), and the store reads its own columns
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const name = options.table ?? "effect_supervisor_jobs"
    if (!TableName.test(name)) {
      return yield* new StoreError({ message: `table must be a plain SQL identifier, got ${name}`, cause: name })
    }
    const dialect = sql.onDialectOrElse<Dialect | undefined, Dialect, Dialect>({
      orElse: () => undefined,
      pg: () => "pg",
      sqlite: () => "sqlite"
    })
    if (dialect === undefined) {
      return yield* new StoreError({
        message: "durable queues support PostgreSQL and SQLite clients only",
        cause: undefined
      })
    }
    // PostgreSQL folds the unquoted names of the DDL (table, trigger, function) to lower case,
    // where statements quote the table's name: one spelling for both (SQLite ignores case)
    const table = dialect === "pg" ? name.toLowerCase() : name
    yield* runMigrations(sql, dialect, table)
    return makeService(sql, dialect, table, options.ownClient === true)
  })

const runMigrations = (sql: SqlClient.SqlClient, dialect: Dialect, table: string) => {
  const statements = Effect.forEach(migrations(dialect, table), (statement) => sql.unsafe(statement), {
    discard: true
  })
  if (dialect === "sqlite") {
    // each statement is its own write transaction; IF NOT EXISTS makes reruns no-ops
    return wrap("migrations", statements)
  }
  // several processes may start at once: one runs the DDL, the others wait for it
  const migrate = sql.withTransaction(
    Effect.zipRight(sql`SELECT pg_advisory_xact_lock(hashtext(${table}))`, statements)
  )
  return wrap(
    "migrations",
    Effect.flatMap(isMigrated(sql, table), (migrated) => migrated ? Effect.void : migrate)
  )
}

/**
 * PostgreSQL: everything `migrations` makes is there already, today's notify payload included
 * (keep this in step with it). Read from the catalog, which locks nothing: the DDL itself,
 * even a `CREATE INDEX IF NOT EXISTS` of an index that exists, takes a table lock that waits
 * behind any open transaction that wrote to the table (an app's outbox), and every claim,
 * renewal and acknowledgement of every process then queued behind it while leases ran out.
 */
const isMigrated = (sql: SqlClient.SqlClient, table: string) =>
  Effect.map(
    sql<{ migrated: boolean }>`
      SELECT to_regclass(${table}) IS NOT NULL
        AND to_regclass(${`${table}_claim`}) IS NOT NULL
        AND to_regclass(${`${table}_idempotency`}) IS NOT NULL
        AND to_regclass(${`${table}_finished`}) IS NOT NULL
        AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(${table}) AND tgname = ${`${table}_notify`})
        AND COALESCE(
          (SELECT position(${`pg_notify('${table}', '${WAKE}')`} IN prosrc) > 0
            FROM pg_proc WHERE oid = to_regprocedure(${`${table}_notify()`})),
          false
        ) AS migrated`,
    (rows) => rows[0]?.migrated === true
  )

/** the wall clock, for what runs in real time whatever clock the caller has (see `listenAll`) */
const liveClock = Clock.make()

/** once the event loop has read the sockets that were ready (`setImmediate` runs after I/O) */
const afterIo = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const makeService = (sql: SqlClient.SqlClient, dialect: Dialect, table: string, ownClient: boolean): StoreService => {
  const outsideTransactions = Context.omit(SqlClient.TransactionConnection)
  /** one store operation: its errors as StoreError; with an own client, on that client's connections */
  const op = <A>(message: string, effect: Effect.Effect<A, SqlError.SqlError>) =>
    wrap(message, ownClient ? Effect.mapInputContext(effect, outsideTransactions<never>) : effect)
  const t = sql(table)
  // A scalar subquery, computed once per statement: as a plain expression PostgreSQL
  // evaluates it per row (numeric arithmetic, ~0.7 us each; twice per row of an INSERT).
  const now = sql.literal(
    dialect === "pg"
      ? "(SELECT (extract(epoch from now()) * 1000)::int8)"
      : "(SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER))"
  )
  const skipLocked = sql.literal(dialect === "pg" ? "FOR UPDATE SKIP LOCKED" : "")

  const notify = dialect === "pg" ? sql`SELECT pg_notify(${table}, ${WAKE})` : Effect.void
  const local = new Map<string, Set<() => void>>()
  const signalLocal = (queue: string) => {
    const signals = local.get(queue)
    if (signals !== undefined) { for (const signal of signals) signal() }
  }

  /**
   * A batch travels as one JSON parameter: the statement text never changes with the batch
   * size, so it is prepared once, and a batch is bounded by nothing but memory.
   */
  /** SQLite: the rows of a JSON array of objects, one column per key */
  const jsonRows = (columns: string) => {
    const select = sql.literal(
      columns.split(", ").map((column) => `json_extract(value, '$.${column.split(" ")[0]}') AS ${column.split(" ")[0]}`)
        .join(", ")
    )
    return (json: string) => sql`SELECT ${select} FROM json_each(${json})`
  }
  /** the rows of a JSON array of objects as the table `v`, in array order */
  const rowsOf = (columns: string) => {
    if (dialect === "pg") return (json: string) => sql`json_to_recordset(${json}::json) AS v(${sql.literal(columns)})`
    const rows = jsonRows(columns)
    return (json: string) => sql`(${rows(json)} ORDER BY key) AS v`
  }
  const newJobs = rowsOf(
    "idempotency_key text, job_key text, payload text, priority int, max_attempts int, run_at int8, delay int8"
  )
  const settledColumns = "id int8, attempts int, status int, delay int8, refund int, result text, error text"
  const settledJobs = rowsOf(settledColumns)
  const settledRows = jsonRows(settledColumns)

  /** a JSON array of strings as the table `v(payload)`, in array order */
  const payloadsOf = dialect === "pg"
    ? (json: string) => sql`json_array_elements_text(${json}::json) AS v(payload)`
    : (json: string) => sql`(SELECT value AS payload FROM json_each(${json}) ORDER BY key) AS v`

  /**
   * Jobs that differ in their payload only (an `offerAll` with one set of options, no keys):
   * one JSON array of payloads, the rest constants. The database parses a fifth of the JSON
   * (PostgreSQL, 5,000 rows: 37 -> 29 ms for the INSERT, EXPLAIN ANALYZE).
   */
  const insertUniform = (queue: string, jobs: ReadonlyArray<NewJob>, first: NewJob) => {
    const insert = sql`
      INSERT INTO ${t} (queue, payload, priority, max_attempts, run_at, created_at)
      SELECT ${queue}, v.payload, ${first.priority}, ${first.maxAttempts},
        ${first.runAt === null ? sql`${now} + ${first.delayMillis}` : sql`${first.runAt}`}, ${now}
      FROM ${payloadsOf(JSON.stringify(jobs.map((job) => job.payload)))}
      RETURNING id`
    if (dialect === "sqlite") return Effect.map(insert, (rows) => rows.map((row) => String(row.id)))
    // The ids as one text: a row each costs the driver more than the INSERT costs the server
    // (10,000 jobs: ~15 ms of parsing). One statement's ids increase in insertion order.
    return Effect.map(
      sql<
        { ids: string }
      >`WITH inserted AS (${insert}) SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM inserted`,
      (rows) => rows[0]!.ids.split(",")
    )
  }

  const uniform = (jobs: ReadonlyArray<NewJob>, first: NewJob) =>
    jobs.every((job) =>
      job.idempotencyKey === null && job.key === null && job.priority === first.priority &&
      job.maxAttempts === first.maxAttempts && job.runAt === first.runAt && job.delayMillis === first.delayMillis
    )

  const insertRows = (queue: string, jobs: ReadonlyArray<NewJob>) => {
    const json = JSON.stringify(jobs.map((job) => ({
      idempotency_key: job.idempotencyKey,
      job_key: job.key,
      payload: job.payload,
      priority: job.priority,
      max_attempts: job.maxAttempts,
      run_at: job.runAt,
      delay: job.delayMillis
    })))
    // Without idempotency keys no row can conflict, and a plain INSERT skips the speculative
    // insertion PostgreSQL does per row under ON CONFLICT. `WHERE true`: SQLite needs it to
    // tell the upsert clause from a join constraint.
    const keyed = jobs.some((job) => job.idempotencyKey !== null)
    return sql<{ id: string | number; idempotency_key: string | null }>`
      INSERT INTO ${t} (queue, idempotency_key, job_key, payload, priority, max_attempts, run_at, created_at)
      SELECT ${queue}, v.idempotency_key, v.job_key, v.payload, v.priority, v.max_attempts,
        COALESCE(v.run_at, ${now} + v.delay), ${now}
      FROM ${newJobs(json)} WHERE true
      ${keyed ? sql`ON CONFLICT DO NOTHING` : sql``}
      RETURNING id, idempotency_key`
  }

  /** the ids of a chunk of jobs in its order; a key that exists answers with the existing job's id */
  const insertChunk = (queue: string, chunk: ReadonlyArray<NewJob>): Effect.Effect<Array<JobId>, SqlError.SqlError> =>
    Effect.gen(function*() {
      const rows = yield* insertRows(queue, chunk)
      // RETURNING follows the insertion (batch) order on both dialects
      if (rows.length === chunk.length) return rows.map((row) => String(row.id))
      const byKey = new Map<string, JobId>()
      for (const row of rows) if (row.idempotency_key !== null) byKey.set(row.idempotency_key, String(row.id))
      const keys = chunk.flatMap((job) =>
        job.idempotencyKey === null || byKey.has(job.idempotencyKey) ? [] : [job.idempotencyKey]
      )
      // (none left to look up when the only conflicts were a key offered twice in this chunk)
      const existing = keys.length === 0 ? [] : yield* sql<{ id: string | number; idempotency_key: string }>`
          SELECT id, idempotency_key FROM ${t} WHERE queue = ${queue} AND ${sql.in("idempotency_key", keys)}`
      for (const row of existing) byKey.set(row.idempotency_key, String(row.id))
      // A key that conflicted and is gone now: retention deleted its finished job between the
      // INSERT and this SELECT (another process's cleanup). Its idempotency window is over, so
      // it is enqueued anew, as an offer a moment later would be.
      const gone = chunk.filter((job) => job.idempotencyKey !== null && !byKey.has(job.idempotencyKey))
      if (gone.length > 0) {
        const again = yield* insertChunk(queue, gone)
        for (let i = 0; i < gone.length; i++) byKey.set(gone[i].idempotencyKey!, again[i]!)
      }
      let unkeyed = 0
      const unkeyedIds = rows.filter((row) => row.idempotency_key === null)
      return chunk.map((job) =>
        job.idempotencyKey === null ? String(unkeyedIds[unkeyed++]!.id) : byKey.get(job.idempotencyKey)!
      )
    })

  const enqueue: StoreService["enqueue"] = (queue, jobs) => {
    const inserts = Effect.gen(function*() {
      const ids: Array<JobId> = new Array(jobs.length)
      for (let start = 0; start < jobs.length; start += INSERT_CHUNK) {
        const chunk = jobs.slice(start, start + INSERT_CHUNK)
        const first = chunk[0]!
        const inserted = uniform(chunk, first)
          ? yield* insertUniform(queue, chunk, first)
          : yield* insertChunk(queue, chunk)
        for (let i = 0; i < inserted.length; i++) ids[start + i] = inserted[i]!
      }
      return ids
    })
    // all or none: a batch of several statements is one transaction (one statement is anyway)
    return op(
      "enqueue",
      Effect.tap(jobs.length > INSERT_CHUNK ? sql.withTransaction(inserts) : inserts, () => signalLocal(queue))
    )
  }

  const claim: StoreService["claim"] = (queue, owner, limit, leaseMillis) => {
    // a delivery past max_attempts (its consumers died each time) becomes a dead letter
    // here instead of running again; run_at never moves, so expired leases come first
    const update = sql`
      UPDATE ${t} SET
        status = CASE WHEN attempts < max_attempts THEN 0 ELSE 2 END,
        attempts = CASE WHEN attempts < max_attempts THEN attempts + 1 ELSE attempts END,
        lease_until = CASE WHEN attempts < max_attempts THEN ${now} + ${leaseMillis} ELSE NULL END,
        lease_owner = CASE WHEN attempts < max_attempts THEN ${owner} ELSE NULL END,
        finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE ${now} END,
        last_error = CASE WHEN attempts < max_attempts THEN last_error ELSE '{"_tag":"LeaseExpired"}' END
      WHERE id IN (
        SELECT id FROM ${t}
        WHERE queue = ${queue} AND status = 0 AND run_at <= ${now}
          AND (lease_until IS NULL OR lease_until < ${now})
        ORDER BY priority DESC, run_at, id
        LIMIT ${limit} ${skipLocked}
      )
      RETURNING id, payload, attempts, max_attempts, status, priority, run_at`
    if (dialect === "pg") {
      // the claimed jobs as one JSON text, in claim order (see `insertUniform`: a row each
      // costs the driver more than the statement costs the server)
      return op(
        "claim",
        Effect.map(
          sql<{ jobs: string | null }>`
            WITH claimed AS (${update})
            SELECT (json_agg(json_build_array(id::text, payload, attempts, max_attempts) ORDER BY priority DESC, run_at, id)
              FILTER (WHERE status = 0))::text AS jobs
            FROM claimed`,
          (rows): Array<ClaimedJob> => {
            const jobs = rows[0]?.jobs
            if (jobs === null || jobs === undefined) return []
            return (JSON.parse(jobs) as Array<[string, string, number, number]>).map((
              [id, payload, attempts, maxAttempts]
            ) => ({ id, payload, attempts, maxAttempts }))
          }
        )
      )
    }
    return op(
      "claim",
      Effect.map(
        update as Statement.Statement<
          {
            id: string | number
            payload: string
            attempts: number
            max_attempts: number
            status: number
            priority: number
            run_at: number
          }
        >,
        (rows) => {
          const jobs: Array<ClaimedJob> = []
          // UPDATE ... RETURNING comes in no particular order: restore the claim order
          const ordered = [...rows].sort((a, b) =>
            Number(b.priority) - Number(a.priority) || Number(a.run_at) - Number(b.run_at) ||
            Number(a.id) - Number(b.id)
          )
          for (const row of ordered) {
            if (Number(row.status) === Status.Ready) {
              jobs.push({
                id: String(row.id),
                payload: row.payload,
                attempts: Number(row.attempts),
                maxAttempts: Number(row.max_attempts)
              })
            }
          }
          return jobs
        }
      )
    )
  }

  const renew: StoreService["renew"] = (queue, owner, ids, leaseMillis) =>
    ids.length === 0 ? Effect.succeed([]) : op(
      "renew",
      Effect.map(
        sql<{ id: string | number; attempts: number }>`
          UPDATE ${t} SET lease_until = ${now} + ${leaseMillis}
          WHERE queue = ${queue} AND status = 0 AND lease_owner = ${owner} AND ${sql.in("id", ids)}
          RETURNING id, attempts`,
        (rows) => rows.map((row) => ({ id: String(row.id), attempts: Number(row.attempts) }))
      )
    )

  const settleChunk = (queue: string, owner: string, settlements: ReadonlyArray<Settlement>) => {
    const json = JSON.stringify(settlements.map((s) => ({
      // as text: a JSON number loses the digits of an id past 2^53, and the write would land
      // on no job or on its neighbour (the database reads the text as an int8)
      id: s.id,
      attempts: s.attempts,
      status: s.status,
      delay: s.delayMillis,
      refund: s.refund ? 1 : 0,
      result: s.result,
      error: s.error
    })))
    const set = sql`
        status = v.status,
        attempts = ${t}.attempts - v.refund,
        run_at = CASE WHEN v.status = 0 AND v.refund = 0 THEN ${now} + v.delay ELSE ${t}.run_at END,
        lease_until = NULL,
        lease_owner = NULL,
        finished_at = CASE WHEN v.status = 0 THEN NULL ELSE ${now} END,
        result = v.result,
        last_error = COALESCE(v.error, ${t}.last_error)`
    if (dialect === "sqlite") {
      // the rows materialized first, then one primary-key probe each: as a subquery in FROM,
      // SQLite scanned every ready row of the queue for each settled one (100 rows: 10.8 ms,
      // 1,000: 859 ms with a 20,000-job backlog; materialized: 0.41 ms and 4.3 ms, measured)
      return Effect.map(
        sql<{ id: string | number }>`
          WITH v AS MATERIALIZED (${settledRows(json)})
          UPDATE ${t} SET ${set} FROM v
          WHERE ${t}.id = v.id AND ${t}.attempts = v.attempts
            AND ${t}.queue = ${queue} AND ${t}.status = 0 AND ${t}.lease_owner = ${owner}
          RETURNING ${t}.id`,
        (rows) => rows.map((row) => String(row.id))
      )
    }
    // The rows found by primary key whatever the statistics say. On a table not analyzed yet
    // (the first minute of a new queue) the planner takes `status = 0` as a cue to scan the
    // claim index, i.e. every ready row, for each settled batch (250 rows with a 10,000-job
    // backlog: 14.3 ms). `status < 1` is the same test (statuses are 0..3) that no partial
    // index matches, and `id = ANY(...)` leaves the primary key as the one way in (3.3 ms).
    // The ids that won come back as one text (see `insertUniform`).
    return Effect.map(
      sql<{ ids: string | null }>`
        WITH won AS (
          UPDATE ${t} SET ${set}
          FROM ${settledJobs(json)}
          WHERE ${t}.id = v.id AND ${t}.attempts = v.attempts
            AND ${t}.queue = ${queue} AND ${t}.status < 1 AND ${t}.lease_owner = ${owner}
            AND ${t}.id = ANY(ARRAY(SELECT (e->>'id')::int8 FROM json_array_elements(${json}::json) AS e))
          RETURNING ${t}.id
        )
        SELECT string_agg(id::text, ',') AS ids FROM won`,
      (rows) => {
        const ids = rows[0]?.ids
        return ids === null || ids === undefined ? [] : ids.split(",")
      }
    )
  }

  const settle: StoreService["settle"] = (queue, owner, settlements) =>
    op(
      "settle",
      Effect.gen(function*() {
        const won: Array<JobId> = []
        let handedBack = false
        const chunks = Effect.gen(function*() {
          for (let start = 0; start < settlements.length; start += SETTLE_CHUNK) {
            const chunk = settlements.slice(start, start + SETTLE_CHUNK)
            for (const id of yield* settleChunk(queue, owner, chunk)) won.push(id)
            handedBack ||= chunk.some((s) => s.status === Status.Ready && s.delayMillis === 0)
          }
        })
        // all or none, as an offerAll: the consumer writes a batch that failed again whole, and
        // the chunks that had committed would then read as lost to another completion (fenced)
        if (settlements.length > SETTLE_CHUNK) {
          yield* sql.withTransaction(chunks)
        } else {
          yield* chunks
        }
        if (handedBack) {
          signalLocal(queue)
          yield* notify
        }
        return won
      })
    )

  const get: StoreService["get"] = (queue, id) =>
    !isRowId(id) ? Effect.succeed(undefined) : op(
      "status",
      Effect.map(
        sql<Record<string, unknown>>`
          SELECT id, status, attempts, max_attempts, run_at, lease_until, created_at, finished_at,
            last_error, result, ${now} AS now
          FROM ${t} WHERE queue = ${queue} AND id = ${id}`,
        (rows): StoredJob | undefined => {
          const row = rows[0]
          if (row === undefined) return undefined
          const nullable = (value: unknown) => value === null || value === undefined ? null : Number(value)
          return {
            id: String(row.id),
            status: Number(row.status),
            attempts: Number(row.attempts),
            maxAttempts: Number(row.max_attempts),
            runAt: Number(row.run_at),
            leaseUntil: nullable(row.lease_until),
            createdAt: Number(row.created_at),
            finishedAt: nullable(row.finished_at),
            lastError: row.last_error as string | null,
            result: row.result as string | null,
            now: Number(row.now)
          }
        }
      )
    )

  const cancel: StoreService["cancel"] = (queue, id) =>
    !isRowId(id) ? Effect.succeed(false) : op(
      "cancel",
      Effect.map(
        sql<{ id: string | number }>`
          UPDATE ${t} SET status = 3, finished_at = ${now}, lease_until = NULL, lease_owner = NULL
          WHERE queue = ${queue} AND id = ${id} AND status = 0
          RETURNING id`,
        (rows) => rows.length > 0
      )
    )

  const retryDead: StoreService["retryDead"] = (queue, olderThanMillis) =>
    op(
      "retryDead",
      Effect.gen(function*() {
        const rows = yield* sql<{ id: string | number }>`
          UPDATE ${t} SET status = 0, attempts = 0, run_at = ${now}, finished_at = NULL
          WHERE queue = ${queue} AND status = 2 AND finished_at <= ${now} - ${olderThanMillis}
          RETURNING id`
        if (rows.length > 0) {
          signalLocal(queue)
          yield* notify
        }
        return rows.length
      })
    )

  const cleanup: StoreService["cleanup"] = (queue, retention, batch) =>
    op(
      "cleanup",
      Effect.gen(function*() {
        let total = 0
        // bounded batches: a large backlog of finished rows never holds a long write lock
        while (true) {
          // `status <> 0` again outside: a row the subquery chose that `retryDead` revives
          // meanwhile is checked again once its lock is free (PostgreSQL), and kept
          const rows = yield* sql<{ id: string | number }>`
            DELETE FROM ${t} WHERE id IN (
              SELECT id FROM ${t}
              WHERE queue = ${queue} AND (
                (status = 1 AND finished_at <= ${now} - ${retention.succeededMillis})
                OR (status IN (2, 3) AND finished_at <= ${now} - ${retention.deadMillis}))
              LIMIT ${batch}
            ) AND status <> 0 RETURNING id`
          total += rows.length
          if (rows.length < batch) return total
        }
      })
    )

  const nextDue: StoreService["nextDue"] = (queue) =>
    op(
      "nextDue",
      Effect.map(
        sql<{ due: string | number | null }>`
          SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until >= run_at THEN lease_until + 1 ELSE run_at END)
            - ${now} AS due
          FROM ${t} WHERE queue = ${queue} AND status = 0`,
        (rows) => {
          const due = rows[0]?.due
          return due === null || due === undefined ? undefined : Math.max(0, Number(due))
        }
      )
    )

  /**
   * PostgreSQL: one LISTEN for every consumer of this store, while there is one. Per consumer,
   * the first to stop sent UNLISTEN on the connection they all share (@effect/sql-pg keeps one
   * listening connection per client), and the others heard nothing more.
   */
  const listenAll = (listen: (channel: string) => Stream.Stream<string, SqlError.SqlError>) => {
    const wakeAll = () => {
      for (const queue of local.keys()) signalLocal(queue)
    }
    const ping = Effect.either(op("ping", sql`SELECT pg_notify(${table}, ${PING})`))
    // before the next session after one that failed or never heard itself (see below)
    let pause = 1000
    const session = Effect.suspend(() => {
      let heard = false
      const hear = Stream.runForEach(listen(table), (payload) =>
        Effect.sync(() => {
          heard = true
          if (payload !== PING) wakeAll()
        }))
      // Ends when the connection is deaf: "deaf" once it had heard, "unheard" if it never did.
      // On the live clock: the connection lives in real time, whatever clock the consumers use.
      const deaf = Effect.gen(function*() {
        // Until the LISTEN hears its own heartbeat it may not be in place (connecting, or the
        // last connection still closing): what was offered meanwhile is looked for once it is.
        // The heartbeats come less often the longer it takes (a pooler that drops LISTEN, say).
        const since = Date.now()
        let every = CONNECTING_PING_MILLIS
        while (!heard) {
          if (Date.now() - since > CONNECT_MILLIS) return "unheard" as const
          yield* ping
          yield* Effect.sleep(every)
          yield* afterIo
          every = Math.min(every * 2, HEARTBEAT_MILLIS)
        }
        wakeAll()
        pause = 1000
        // Then a heartbeat goes out (through the pool) in each period in which nothing was
        // heard; one that does not come back within the next period means deaf.
        let pinged = false
        while (true) {
          heard = false
          yield* Effect.sleep(HEARTBEAT_MILLIS)
          // after a busy event loop, timers run before the socket is read: read it first
          if (!heard) yield* afterIo
          if (heard) pinged = false
          else if (pinged) return "deaf" as const
          // a heartbeat that could not be sent (the database is down) proves nothing either way
          else pinged = Either.isRight(yield* ping)
        }
      }).pipe(Effect.withClock(liveClock))
      return Effect.raceFirst(Effect.as(hear, "ended" as const), deaf)
    })
    // Deaf, the session ends: the stream's scope closes, @effect/sql-pg ends its connection (no
    // other listen holds it) and the next session connects at once. One that failed (LISTEN
    // with the database down) or never heard itself is tried again after a pause that doubles
    // up to a minute, so a setup where LISTEN cannot work costs a statement now and then, not
    // a stream of them. The consumers' poll covers every gap.
    return session.pipe(
      Effect.catchAllCause(() => Effect.succeed("failed" as const)),
      Effect.flatMap((ended) => {
        if (ended === "deaf") return Effect.void
        const wait = pause
        pause = Math.min(pause * 2, 60_000)
        return Effect.withClock(Effect.sleep(wait), liveClock)
      }),
      Effect.forever
    )
  }
  let listeners = 0
  let listening: Fiber.RuntimeFiber<void> | undefined

  const watchRemote = (signal: () => void): Effect.Effect<void, never, Scope.Scope> => {
    if (dialect === "pg") {
      const listen = (sql as unknown as { listen?: (channel: string) => Stream.Stream<string, SqlError.SqlError> })
        .listen
      if (listen === undefined) return Effect.void
      return Effect.acquireRelease(
        Effect.suspend(() => {
          if (listeners++ > 0) return Effect.void
          // interruptible: forked inside acquireRelease's acquire, it would inherit its mask
          return Effect.map(
            Effect.forkDaemon(Effect.interruptible(listenAll(listen))),
            (fiber) => void (listening = fiber)
          )
        }),
        () =>
          Effect.suspend(() => {
            if (--listeners > 0 || listening === undefined) return Effect.void
            const fiber = listening
            listening = undefined
            return Fiber.interrupt(fiber)
          })
      )
    }
    // SQLite: data_version changes when another connection (process) commits
    let version: number | undefined
    return (sql`PRAGMA data_version` as Statement.Statement<{ data_version: number }>).pipe(
      Effect.map((rows) => {
        const next = Number(rows[0]?.data_version)
        if (version !== undefined && next !== version) signal()
        version = next
      }),
      Effect.ignore,
      Effect.repeat(Schedule.spaced("20 millis")),
      Effect.asVoid
    )
  }

  const watch: StoreService["watch"] = (queue, signal) =>
    Effect.gen(function*() {
      let signals = local.get(queue)
      if (signals === undefined) local.set(queue, signals = new Set())
      signals.add(signal)
      yield* Effect.addFinalizer(() => Effect.sync(() => signals.delete(signal)))
      if (dialect === "pg") yield* watchRemote(signal)
      else yield* Effect.forkScoped(watchRemote(signal))
    })

  return { enqueue, claim, renew, settle, get, cancel, retryDead, cleanup, nextDue, watch }
}

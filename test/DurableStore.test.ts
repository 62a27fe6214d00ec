import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Layer, Redacted, Ref, Schema } from "effect"
import { Durable } from "effect-supervisor/durable"
import { existsSync } from "node:fs"
import { type AddressInfo, createServer, type Socket } from "node:net"
import { join } from "node:path"
import * as SqliteStore from "../src/internal/durable/sqlite.js"
import {
  backends,
  dropPgTables,
  eventually,
  pgUrl,
  removeDir,
  requirePg,
  tempDir,
  uniqueTable
} from "./durable/backends.js"

const Jobs = Durable.queue("jobs", {
  task: Schema.Struct({ n: Schema.Number }),
  success: Schema.Number,
  failure: Schema.Never,
  idempotencyKey: (task) => `n${task.n}`,
  maxAttempts: 2,
  lease: "300 millis"
})
const Plain = Durable.queue("plain", {
  task: Schema.Number,
  success: Schema.Void,
  failure: Schema.Never,
  maxAttempts: 3,
  lease: "300 millis"
})

const Positive = Durable.queue("positive", {
  task: Schema.Number.pipe(Schema.positive()),
  success: Schema.Void,
  failure: Schema.Never,
  maxAttempts: 1,
  lease: "30 seconds"
})

// real time on purpose: leases and due times are the database's clock (now() in SQL), which
// TestClock does not move; every wait here is a bounded margin past a lease of 300 ms or less
const wait = (millis: number) => Effect.sleep(millis)
const ok = (id: string, attempts: number, result: string | null = null) => ({
  id,
  attempts,
  status: 1 as const,
  delayMillis: 0,
  refund: false,
  result,
  error: null
})

const all = backends({ memory: true })
beforeAll(requirePg)
afterAll(all.cleanup)

for (const backend of all.list) {
  describe(`Durable store on ${backend.name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Durable.Store>) => Effect.provide(effect, backend.fresh())

    it.live("claims a batch in due order; a held job is not claimed twice", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const ids = yield* plain.offerAll([1, 2, 3, 4, 5])
        const first = yield* store.claim("plain", "a", 3, 10_000)
        expect(first.map((job) => job.id)).toEqual(ids.slice(0, 3))
        expect(first.map((job) => job.attempts)).toEqual([1, 1, 1])
        const second = yield* store.claim("plain", "b", 10, 10_000)
        expect(second.map((job) => job.id)).toEqual(ids.slice(3))
        expect(yield* store.claim("plain", "c", 10, 10_000)).toEqual([])
        expect((yield* plain.status(ids[0])).state).toBe("running")
      })))

    it.live("offerAll across INSERT chunks: the ids in task order, each with its own payload", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const keyed = yield* Durable.producer(Jobs)
        // 12,000 jobs with one set of options (three chunks, payloads only), then chunks whose
        // jobs differ (a key on some): both ways in, ids in order
        const tasks = Array.from({ length: 12_000 }, (_, i) => i)
        const ids = yield* plain.offerAll(tasks)
        const mixed = yield* keyed.offerAll(Array.from({ length: 6_000 }, (_, i) => ({ n: i % 7 === 0 ? -i : i })))
        expect(new Set([...ids, ...mixed]).size).toBe(18_000)
        const claimed = yield* store.claim("plain", "a", 12_000, 60_000)
        expect(claimed.map((job) => job.id)).toEqual(ids)
        expect(claimed.map((job) => Number(job.payload))).toEqual(tasks)
        const claimedMixed = yield* store.claim("jobs", "a", 6_000, 60_000)
        expect(claimedMixed.map((job) => job.id)).toEqual(mixed)
      })))

    it.live("bad input: a typed error, nothing enqueued; an id that names no job is not found", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const positive = yield* Durable.producer(Positive)
        const refused = yield* Effect.flip(positive.offerAll([1, 2, -3]))
        expect(refused._tag).toBe("ParseError")
        const invalid = [
          { priority: 1.5 },
          { priority: Number.NaN },
          { priority: 2 ** 31 },
          { runAt: new Date("not a date") },
          { delay: Duration.infinity }
        ]
        for (const options of invalid) {
          const error = yield* Effect.flip(positive.offer(1, options))
          expect(error).toMatchObject({ _tag: "InvalidOptions" })
        }
        expect(yield* store.claim("positive", "a", 100, 10_000)).toEqual([])
        // fractions of a millisecond round up; the job is enqueued
        const id = yield* positive.offer(1, { delay: "0.5 millis", priority: -(2 ** 31 - 1) })
        expect((yield* positive.status(id)).state).toBe("queued")
        // the memory store too: "1.0", "01" or "0x1" found job 1 there
        for (
          const unknown of ["abc", "0", "-1", "1.5", "99999999999999999999", "", "1.0", "01", " 1", "+1", "0x1", "1e0"]
        ) {
          const error = yield* Effect.flip(positive.status(unknown))
          expect(error).toMatchObject({ _tag: "JobNotFound", id: unknown })
          expect(yield* positive.cancel(unknown)).toBe(false)
        }
      })))

    it.live("an expired lease is claimable again and goes before the backlog", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [old] = yield* plain.offerAll([1])
        yield* store.claim("plain", "dead-consumer", 1, 100)
        yield* wait(150)
        const backlog = yield* plain.offerAll([2, 3])
        const claimed = yield* store.claim("plain", "b", 1, 10_000)
        expect(claimed).toEqual([{ id: old, payload: "1", attempts: 2, maxAttempts: 3 }])
        expect((yield* store.claim("plain", "b", 5, 10_000)).map((job) => job.id)).toEqual(backlog)
      })))

    it.live("first completion wins: a late ack from the lost lease is fenced out", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const jobs = yield* Durable.producer(Jobs)
        const id = yield* jobs.offer({ n: 1 })
        yield* store.claim("jobs", "a", 1, 100)
        yield* wait(150)
        yield* store.claim("jobs", "b", 1, 10_000)
        expect(yield* store.settle("jobs", "a", [ok(id, 1, "10")])).toEqual([])
        expect(yield* store.settle("jobs", "b", [ok(id, 2, "20")])).toEqual([id])
        expect(yield* store.settle("jobs", "b", [ok(id, 2, "30")])).toEqual([])
        const info = yield* jobs.status(id)
        expect(info).toMatchObject({ state: "succeeded", attempts: 2, result: 20 })
      })))

    it.live("a job whose consumers die each time is dead after maxAttempts deliveries", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const jobs = yield* Durable.producer(Jobs)
        const id = yield* jobs.offer({ n: 1 })
        expect((yield* store.claim("jobs", "a", 1, 50)).length).toBe(1)
        yield* wait(80)
        expect((yield* store.claim("jobs", "b", 1, 50)).length).toBe(1)
        yield* wait(80)
        expect(yield* store.claim("jobs", "c", 1, 50)).toEqual([])
        const info = yield* jobs.status(id)
        expect(info).toMatchObject({ state: "dead", attempts: 2, lastError: { _tag: "LeaseExpired" } })
      })))

    it.live("completions are fenced by the lease owner alone: the same delivery number from another owner is ignored", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [id] = yield* plain.offerAll([1])
        // a takes delivery 1 and stalls past its lease; b takes delivery 2 and makes the job dead
        yield* store.claim("plain", "a", 1, 100)
        yield* wait(150)
        expect(yield* store.claim("plain", "b", 1, 60_000)).toEqual([{ id, payload: "1", attempts: 2, maxAttempts: 3 }])
        const timeout = "{\"_tag\":\"Timeout\"}"
        expect(yield* store.settle("plain", "b", [{ ...ok(id, 2), status: 2, error: timeout }])).toEqual([id])
        // retryDead counts again from 0: c's delivery is number 1, the same as a's
        expect(yield* plain.retryDead()).toBe(1)
        expect(yield* store.claim("plain", "c", 1, 60_000)).toEqual([{ id, payload: "1", attempts: 1, maxAttempts: 3 }])
        expect(yield* store.renew("plain", "a", [id], 60_000)).toEqual([])
        expect(yield* store.settle("plain", "a", [ok(id, 1)])).toEqual([])
        expect(yield* plain.status(id)).toMatchObject({ state: "running", attempts: 1 })
        expect(yield* store.settle("plain", "c", [ok(id, 1)])).toEqual([id])
        expect(yield* plain.status(id)).toMatchObject({ state: "succeeded", attempts: 1 })
      })))

    it.live("idempotent enqueue: the same key answers with the existing id", () =>
      run(Effect.gen(function*() {
        const jobs = yield* Durable.producer(Jobs)
        const a = yield* jobs.offer({ n: 1 })
        const ids = yield* jobs.offerAll([{ n: 2 }, { n: 1 }, { n: 3 }, { n: 2 }])
        expect(ids[1]).toBe(a)
        expect(ids[3]).toBe(ids[0])
        expect(new Set([a, ids[0], ids[2]]).size).toBe(3)
        expect(yield* jobs.offer({ n: 3 })).toBe(ids[2])
      })))

    it.live("delayed and scheduled jobs wait for their time", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        yield* plain.offer(1, { delay: "200 millis" })
        yield* plain.offer(2, { runAt: new Date(Date.now() + 200) })
        expect(yield* store.claim("plain", "a", 10, 10_000)).toEqual([])
        const due = yield* store.nextDue("plain")
        expect(due).toBeGreaterThan(100)
        expect(due).toBeLessThanOrEqual(200)
        yield* wait(250)
        expect((yield* store.claim("plain", "a", 10, 10_000)).map((job) => job.payload).sort()).toEqual(["1", "2"])
      })))

    it.live("priority goes first", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        yield* plain.offerAll([1, 2])
        yield* plain.offer(3, { priority: 5 })
        expect((yield* store.claim("plain", "a", 10, 10_000)).map((job) => job.payload)).toEqual(["3", "1", "2"])
      })))

    it.live("cancel: a queued job never runs; a finished one is left as it is", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [a, b] = yield* plain.offerAll([1, 2])
        expect(yield* plain.cancel(a)).toBe(true)
        const [claimed] = yield* store.claim("plain", "x", 10, 10_000)
        expect(claimed.id).toBe(b)
        yield* store.settle("plain", "x", [ok(b, 1)])
        expect(yield* plain.cancel(b)).toBe(false)
        expect((yield* plain.status(a)).state).toBe("cancelled")
        expect((yield* plain.status(b)).state).toBe("succeeded")
        expect(yield* Effect.flip(plain.status("999999"))).toBeInstanceOf(Durable.JobNotFound)
      })))

    it.live("hand back: an unstarted job is claimable at once with its attempt given back", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [id] = yield* plain.offerAll([1])
        yield* store.claim("plain", "a", 1, 60_000)
        yield* store.settle("plain", "a", [{ ...ok(id, 1), status: 0, refund: true }])
        expect(yield* store.claim("plain", "b", 1, 60_000)).toEqual([{ id, payload: "1", attempts: 1, maxAttempts: 3 }])
      })))

    it.live("a stored result or error the queue's schema cannot decode is a StoreError from status and await", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        // Jobs' success is a number: these rows were written as if by a version whose was text
        const jobs = yield* Durable.producer(Jobs)
        const [texted, garbled] = yield* jobs.offerAll([{ n: 1 }, { n: 2 }])
        yield* store.claim("jobs", "a", 2, 60_000)
        yield* store.settle("jobs", "a", [
          ok(texted, 1, "\"seven\""),
          { ...ok(garbled, 1), status: 2, error: "not json" }
        ])
        const result = yield* Effect.flip(jobs.status(texted))
        expect(result).toBeInstanceOf(Durable.StoreError)
        expect(result.message).toContain(`job ${texted} of queue jobs: its stored result does not decode`)
        const error = yield* Effect.flip(jobs.await(garbled))
        expect(error).toBeInstanceOf(Durable.StoreError)
        expect(error.message).toContain(`job ${garbled} of queue jobs: its stored last error does not decode`)
      })))

    it.live("hand back: a job handed back keeps its place in line (its due time does not move)", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const ids = yield* plain.offerAll([1, 2, 3])
        const [first] = yield* store.claim("plain", "a", 1, 60_000)
        // due times are whole milliseconds: the hand back comes a few of them after the offer
        yield* wait(5)
        yield* store.settle("plain", "a", [{ ...ok(first.id, 1), status: 0, refund: true }])
        expect((yield* store.claim("plain", "b", 3, 60_000)).map((job) => job.id)).toEqual(ids)
      })))

    it.live("durable retry writes the next due time; retryDead revives dead letters", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [id] = yield* plain.offerAll([1])
        yield* store.claim("plain", "a", 1, 60_000)
        const retry = { ...ok(id, 1), status: 0 as const, delayMillis: 150, error: "{\"_tag\":\"Timeout\"}" }
        expect(yield* store.settle("plain", "a", [retry])).toEqual([id])
        expect(yield* store.claim("plain", "a", 1, 60_000)).toEqual([])
        expect(yield* plain.status(id)).toMatchObject({ state: "queued", lastError: { _tag: "Timeout" } })
        yield* wait(200)
        const [again] = yield* store.claim("plain", "a", 1, 60_000)
        expect(again.attempts).toBe(2)
        yield* store.settle("plain", "a", [{ ...ok(id, 2), status: 2, error: "{\"_tag\":\"Timeout\"}" }])
        expect((yield* plain.status(id)).state).toBe("dead")
        expect(yield* plain.retryDead({ olderThan: "1 hour" })).toBe(0)
        expect(yield* plain.retryDead()).toBe(1)
        expect(yield* plain.status(id)).toMatchObject({ state: "queued", attempts: 0 })
      })))

    it.live("retention deletes finished rows in batches; queued rows stay", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const ids = yield* plain.offerAll([1, 2, 3, 4, 5, 6])
        const claimed = yield* store.claim("plain", "a", 5, 60_000)
        yield* store.settle("plain", "a", claimed.map((job) => ok(job.id, 1)))
        yield* wait(20)
        expect(yield* store.cleanup("plain", { succeededMillis: 10, deadMillis: 10 }, 2)).toBe(5)
        expect(yield* Effect.flip(plain.status(ids[0]))).toBeInstanceOf(Durable.JobNotFound)
        expect((yield* plain.status(ids[5])).state).toBe("queued")
      })))

    it.live("renewal extends only the leases still owned", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const plain = yield* Durable.producer(Plain)
        const [a, b] = yield* plain.offerAll([1, 2])
        yield* store.claim("plain", "me", 2, 100)
        yield* plain.cancel(b)
        expect(yield* store.renew("plain", "me", [a, b], 10_000)).toEqual([{ id: a, attempts: 1 }])
        expect(yield* store.renew("plain", "someone-else", [a], 10_000)).toEqual([])
        yield* wait(150)
        expect(yield* store.claim("plain", "other", 2, 10_000)).toEqual([])
      })))
  })
}

const outboxDir = tempDir()
const outboxTables: Array<string> = []
afterAll(async () => {
  removeDir(outboxDir)
  await dropPgTables(outboxTables)
})
const outboxClients: ReadonlyArray<
  { readonly name: string; readonly client: () => Layer.Layer<SqlClient.SqlClient, unknown> }
> = [
  { name: "SQLite", client: () => SqliteClient.layer({ filename: join(outboxDir, `${uniqueTable("outbox")}.db`) }) },
  { name: "PostgreSQL", client: () => PgClient.layer({ url: Redacted.make(pgUrl) }) }
]

describe("Durable store: enqueue inside the caller's own transaction (outbox), with a consumer running", () => {
  for (const dialect of outboxClients) {
    it.live(`${dialect.name}: rolled back, the job does not exist and never runs; committed, it runs`, () => {
      const jobsTable = uniqueTable("outbox_jobs")
      const ordersTable = uniqueTable("outbox_orders")
      outboxTables.push(jobsTable, ordersTable)
      return Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const plain = yield* Durable.producer(Plain)
        const orders = sql(ordersTable)
        yield* sql`CREATE TABLE ${orders} (id INTEGER PRIMARY KEY)`
        const order = (id: number) => sql`INSERT INTO ${orders} (id) VALUES (${id})`
        const ran = yield* Ref.make<ReadonlyArray<number>>([])
        const consumer = yield* Durable.consumer({
          queue: Plain,
          workers: 2,
          timeout: "5 seconds",
          pollInterval: "50 millis",
          handler: (n) => Ref.update(ran, (list) => [...list, n])
        })
        const failed = yield* Effect.either(
          sql.withTransaction(Effect.zipRight(Effect.zipRight(order(1), plain.offer(1)), Effect.fail("declined")))
        )
        expect(failed).toEqual(Either.left("declined"))
        const died = yield* Effect.exit(
          sql.withTransaction(Effect.zipRight(Effect.zipRight(order(2), plain.offer(2)), Effect.die("bug")))
        )
        expect(Exit.isFailure(died)).toBe(true)
        const id = yield* sql.withTransaction(Effect.gen(function*() {
          yield* order(3)
          const id = yield* plain.offer(3)
          // real time on purpose: the consumer claims on the database's wall clock; give it
          // several polls while the transaction is open — it must not see the job yet
          yield* Effect.sleep("300 millis")
          expect(yield* Ref.get(ran)).toEqual([])
          return id
        }))
        expect(yield* plain.await(id)).toMatchObject({ state: "succeeded", attempts: 1 })
        yield* eventually(consumer.stats, (stats) => stats.held === 0)
        // the rolled back jobs went with the rest of their transactions: nothing ran but job 3
        expect(yield* Ref.get(ran)).toEqual([3])
        expect(yield* sql`SELECT payload FROM ${sql(jobsTable)}`).toEqual([{ payload: "3" }])
        expect(yield* sql`SELECT id FROM ${orders}`).toEqual([{ id: 3 }])
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.provideMerge(Durable.layerWith({ table: jobsTable }), dialect.client()))
      )
    })
  }
})

describe("Durable store: a store with its own client never joins the caller's transaction on another client", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly store: () => Layer.Layer<Durable.Store, Durable.StoreError>
    readonly app: () => Layer.Layer<SqlClient.SqlClient, unknown>
  }> = [
    {
      name: "Durable.layerSqlite inside a PostgreSQL transaction",
      store: () => Durable.layerSqlite({ file: join(outboxDir, `${uniqueTable("own")}.db`) }),
      app: () => PgClient.layer({ url: Redacted.make(pgUrl) })
    },
    {
      name: "Durable.layerPg inside a SQLite transaction",
      store: () => {
        const table = uniqueTable("own_jobs")
        outboxTables.push(table)
        return Durable.layerPg({ url: pgUrl, table })
      },
      app: () => SqliteClient.layer({ filename: join(outboxDir, `${uniqueTable("app")}.db`) })
    }
  ]
  for (const { app, name, store } of cases) {
    it.live(`${name}: the job commits on its own store, apart from the caller's rollback`, () => {
      const ordersTable = uniqueTable("own_orders")
      outboxTables.push(ordersTable)
      return Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const plain = yield* Durable.producer(Plain)
        const orders = sql(ordersTable)
        yield* sql`CREATE TABLE ${orders} (id INTEGER PRIMARY KEY)`
        const offered: Array<string> = []
        const failed = yield* Effect.either(sql.withTransaction(Effect.gen(function*() {
          yield* sql`INSERT INTO ${orders} (id) VALUES (1)`
          offered.push(yield* plain.offer(1))
          return yield* Effect.fail("declined")
        })))
        expect(failed).toEqual(Either.left("declined"))
        // the caller's write went back; the job, in another database, was never part of it
        expect(yield* sql`SELECT id FROM ${orders}`).toEqual([])
        expect(offered.length).toBe(1)
        expect((yield* plain.status(offered[0])).state).toBe("queued")
      }).pipe(Effect.provide(Layer.merge(store(), app())))
    })
  }
})

describe("Durable store: the claim index is partial, so finished rows never slow claims", () => {
  it.live("SQLite: sqlite_master has it WHERE status = 0", () =>
    Effect.gen(function*() {
      const file = join(outboxDir, `${uniqueTable("catalog")}.db`)
      yield* Layer.build(Durable.layerSqlite({ file }))
      const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(inspect(file)))
      const rows = yield* sql<{ sql: string }>`
        SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'effect_supervisor_jobs_claim'`
      expect(rows.length).toBe(1)
      expect(rows[0].sql).toMatch(/ON effect_supervisor_jobs \(queue, [^)]*run_at[^)]*\) WHERE status = 0$/)
    }).pipe(Effect.scoped))

  it.live("PostgreSQL: pg_indexes has it WHERE (status = 0)", () =>
    Effect.gen(function*() {
      const table = uniqueTable("catalog")
      outboxTables.push(table)
      yield* Layer.build(Durable.layerPg({ url: pgUrl, table }))
      const sql = yield* Effect.provide(
        SqlClient.SqlClient,
        yield* Layer.build(PgClient.layer({ url: Redacted.make(pgUrl) }))
      )
      const rows = yield* sql<{ indexdef: string }>`
        SELECT indexdef FROM pg_indexes WHERE tablename = ${table} AND indexname = ${`${table}_claim`}`
      expect(rows.length).toBe(1)
      expect(rows[0].indexdef).toMatch(
        new RegExp(`ON public\\.${table} USING btree \\(queue, [^)]*run_at[^)]*\\) WHERE \\(status = 0\\)$`)
      )
    }).pipe(Effect.scoped))
})

/** a second connection to a store's file, that leaves its journal mode as it finds it */
const inspect = (file: string) => SqliteClient.layer({ filename: file, disableWAL: true })

describe("Durable.layerSqlite: connection settings", () => {
  it.live("the file is in WAL mode", () =>
    Effect.gen(function*() {
      const file = join(outboxDir, `${uniqueTable("wal")}.db`)
      yield* Layer.build(Durable.layerSqlite({ file }))
      const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(inspect(file)))
      expect(yield* sql`PRAGMA journal_mode`).toEqual([{ journal_mode: "wal" }])
    }).pipe(Effect.scoped))

  // synchronous and busy_timeout belong to a connection: read back on the store's own one
  const levels = [[undefined, 1], ["OFF", 0], ["NORMAL", 1], ["FULL", 2], ["EXTRA", 3]] as const
  for (const [synchronous, level] of levels) {
    it.live(`synchronous ${synchronous ?? "(default NORMAL)"} is applied: PRAGMA synchronous reads ${level}`, () =>
      Effect.gen(function*() {
        const file = join(outboxDir, `${uniqueTable("sync")}.db`)
        const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(inspect(file)))
        yield* SqliteStore.make({ synchronous, busyTimeout: "3 seconds" }).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )
        expect(yield* sql`PRAGMA synchronous`).toEqual([{ synchronous: level }])
        expect(yield* sql`PRAGMA busy_timeout`).toEqual([{ timeout: 3000 }])
      }).pipe(Effect.scoped))
  }

  it.live("an invalid synchronous or busyTimeout is a StoreError before the file is opened", () =>
    Effect.gen(function*() {
      const file = join(outboxDir, `${uniqueTable("bad")}.db`)
      const bad = (options: Partial<Durable.SqliteOptions>) =>
        Effect.flip(Effect.scoped(Layer.build(Durable.layerSqlite({ file, ...options }))))
      const level = yield* bad({ synchronous: "full" as Durable.SqliteOptions["synchronous"] })
      expect(level).toBeInstanceOf(Durable.StoreError)
      expect(level.message).toBe("synchronous must be OFF, NORMAL, FULL or EXTRA, got full")
      const busy = yield* bad({ busyTimeout: "soon" as Duration.DurationInput })
      expect(busy).toBeInstanceOf(Durable.StoreError)
      expect(busy.message).toBe("busyTimeout must be a finite Duration input of at most 2147483647 ms, got soon")
      // SQLite reads these as 0: an offer would fail at once on another process's lock
      for (const busyTimeout of [Duration.infinity, "30 days"] as const) {
        expect((yield* bad({ busyTimeout })).message).toContain("busyTimeout must be a finite Duration input")
      }
      expect(existsSync(file)).toBe(false)
    }))

  it.live("a file that cannot be opened is a StoreError, not a defect; an empty path is refused", () =>
    Effect.gen(function*() {
      const file = join(outboxDir, "no-such-directory", "jobs.db")
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Durable.layerSqlite({ file }))))
      expect(error).toBeInstanceOf(Durable.StoreError)
      expect(error.message).toBe(
        `SQLite: cannot open ${file}: Cannot open database because the directory does not exist`
      )
      // better-sqlite3 would open "" as a temporary database: nothing would survive the process
      const empty = yield* Effect.flip(Effect.scoped(Layer.build(Durable.layerSqlite({ file: "" }))))
      expect(empty.message).toBe("file must be a non-empty path, got \"\"")
    }))
})

describe("Durable.layerPg: connection settings", () => {
  it.live("a pool size that is no integer >= 1 is a StoreError at once (a pool of -1 never hands out a connection)", () =>
    Effect.gen(function*() {
      for (const maxConnections of [-1, 0, 1.5]) {
        const error = yield* Effect.flip(
          Effect.scoped(Layer.build(Durable.layerPg({ url: pgUrl, table: uniqueTable("pool"), maxConnections })))
        )
        expect(error.message).toBe(`maxConnections must be an integer >= 1, got ${maxConnections}`)
      }
    }))

  it.live("a server that accepts and never answers is a StoreError after connectTimeout, not a hang", () =>
    Effect.gen(function*() {
      // a listener that takes connections and says nothing, as a blackholed network looks
      const sockets = new Set<Socket>()
      const silent = createServer((socket) => void sockets.add(socket))
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void silent.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () =>
          Effect.async<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            silent.close(() => resume(Effect.void))
          })
      )
      const { port } = silent.address() as AddressInfo
      const url = `postgres://postgres@127.0.0.1:${port}/test`
      const started = Date.now()
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(Durable.layerPg({ url, connectTimeout: "300 millis" })))
      )
      expect(error).toBeInstanceOf(Durable.StoreError)
      // pg words it after where the timer fired ("Connection timed out", "Failed to connect: ... timeout ...")
      expect(error.message).toMatch(/^PostgreSQL: PgClient: .*(timed out|timeout)/i)
      // real time: pg's connect timer; bounded well below a hang
      expect(Date.now() - started).toBeLessThan(5000)
      for (const connectTimeout of [-1, 0, Number.NaN, "soon", Infinity]) {
        const invalid = yield* Effect.flip(
          Effect.scoped(Layer.build(Durable.layerPg({ url, connectTimeout: connectTimeout as never })))
        )
        expect(invalid.message).toContain("connectTimeout must be a finite Duration input of at least 1 millisecond")
      }
    }).pipe(Effect.scoped))

  it.live("a connection that fails says why: the driver's reason is in the message", () =>
    Effect.gen(function*() {
      const url = new URL(pgUrl)
      url.pathname = "/no_such_database_here"
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Durable.layerPg({ url: url.href }))))
      expect(error).toBeInstanceOf(Durable.StoreError)
      expect(error.message).toContain("database \"no_such_database_here\" does not exist")
    }))
})

describe("Durable store on PostgreSQL: an idempotent offer racing another process's retention", () => {
  it.live("a key whose finished job is deleted between the INSERT and the id lookup is enqueued anew", () => {
    const table = uniqueTable("race_jobs")
    outboxTables.push(table)
    return Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* Durable.Store
      const jobs = yield* Durable.producer(Jobs)
      const [finished] = yield* jobs.offerAll([{ n: 1 }])
      yield* store.claim("jobs", "a", 1, 60_000)
      yield* store.settle("jobs", "a", [ok(finished, 1, "1")])
      // the retention of another process at the worst moment: right after the INSERT that found
      // the key taken, before the lookup of the existing id (a trigger puts it exactly there)
      yield* sql.unsafe(
        `CREATE FUNCTION ${table}_forget() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN DELETE FROM ${table} WHERE status <> 0; RETURN NULL; END $$`
      )
      yield* sql.unsafe(
        `CREATE TRIGGER ${table}_forget AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_forget()`
      )
      const [again, other] = yield* jobs.offerAll([{ n: 1 }, { n: 2 }])
      expect(again).toBeTypeOf("string")
      expect(again).not.toBe(finished)
      expect(yield* jobs.status(again)).toMatchObject({ state: "queued", attempts: 0 })
      expect(yield* jobs.status(other)).toMatchObject({ state: "queued", attempts: 0 })
      expect(yield* Effect.flip(jobs.status(finished))).toBeInstanceOf(Durable.JobNotFound)
      // a key offered twice more in one batch: one job, both offers answered with its id
      expect(yield* jobs.offerAll([{ n: 1 }, { n: 1 }])).toEqual([again, again])
    }).pipe(
      Effect.ensuring(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP FUNCTION IF EXISTS ${table}_forget() CASCADE`))
          .pipe(Effect.orDie)
      ),
      Effect.provide(
        Layer.provideMerge(Durable.layerWith({ table }), PgClient.layer({ url: Redacted.make(pgUrl) }))
      )
    )
  })
})

/**
 * One regression test per defect the review of durable queues found, on every backend the
 * defect concerns (a real SQLite file and a real PostgreSQL). Each failed before its fix.
 * Real databases, so `it.live` with bounded waits.
 */
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  ParseResult,
  Redacted,
  Schedule,
  Schema,
  type Scope,
  Stream,
  String as Str
} from "effect"
import { Errors, Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import { join } from "node:path"
import pg from "pg"
import {
  type Backend,
  backends,
  dropPgTables,
  eventually,
  pgUrl,
  removeDir,
  requirePg,
  tempDir,
  uniqueTable
} from "./durable/backends.js"

const numbersOptions = {
  task: Schema.Number,
  success: Schema.Number,
  failure: Schema.String,
  maxAttempts: 5,
  lease: "2 seconds"
} as const
const Numbers = Durable.queue("numbers", numbersOptions)

const all = backends({ memory: true })
beforeAll(requirePg)
afterAll(all.cleanup)

/** runs `effect` on a fresh store of `backend` */
const runOn = (backend: Backend) => <A, E>(effect: Effect.Effect<A, E, Durable.Store | Scope.Scope>) =>
  Effect.provide(Effect.scoped(effect), backend.fresh())

/** bounded: a job that never settles fails the test instead of hanging it */
const awaitAll = (producer: Durable.Producer<number, number, string>, ids: ReadonlyArray<Durable.JobId>) =>
  Effect.timeoutFail(Effect.forEach(ids, (id) => producer.await(id)), {
    duration: "10 seconds",
    onTimeout: () => new Error("jobs did not settle within 10 s")
  })

for (const backend of all.list) {
  describe(`Durable review on ${backend.name}`, () => {
    const run = runOn(backend)

    it.live("a jittered retry schedule (fractional delays) retries, and a fractional lease claims", () =>
      run(Effect.gen(function*() {
        const queue = Durable.queue("fractions", { ...numbersOptions, lease: "1000.5 millis" })
        const producer = yield* Durable.producer(queue)
        const ids = yield* producer.offerAll([1, 2, 3])
        let failures = 0
        yield* Supervisor.make({
          queue,
          workers: 3,
          timeout: "5 seconds",
          retry: Schedule.exponential("10 millis").pipe(Schedule.jittered),
          handler: (n: number) => n === 1 && failures++ < 2 ? Effect.fail("again") : Effect.succeed(n * 10)
        })
        const infos = yield* awaitAll(producer, ids)
        expect(infos.map((info) => [info.state, info.result, info.attempts])).toEqual([
          ["succeeded", 10, 3],
          ["succeeded", 20, 1],
          ["succeeded", 30, 1]
        ])
      })))

    it.live("a retry schedule that throws, a defect String() cannot print: dead letters; the consumer acknowledges on", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const [throws, unprintable] = yield* producer.offerAll([1, 2])
        yield* Supervisor.make({
          queue: Numbers,
          workers: 1,
          timeout: "5 seconds",
          retry: Schedule.recurWhile((error: unknown) => {
            if (error === "boom") throw new Error("a bug in the retry predicate")
            return true
          }),
          handler: (n: number) =>
            n === 1 ? Effect.fail("boom") : n === 2 ? Effect.die(Object.create(null)) : Effect.succeed(n)
        })
        // before, either one killed the acknowledging fiber: no job of the consumer was written
        // again, each stayed running (renewed) for ever
        const later = yield* producer.offer(3)
        const infos = yield* awaitAll(producer, [throws, unprintable, later])
        expect(infos.map((info) => info.state)).toEqual(["dead", "dead", "succeeded"])
        expect(infos[0]!.lastError?._tag === "Defect" && infos[0]!.lastError.message).toContain(
          "a bug in the retry predicate"
        )
        expect(infos[1]!.lastError?._tag).toBe("Defect")
      })))

    it.live("a job keeps the maxAttempts it was offered with when the queue's definition changes", () =>
      run(Effect.gen(function*() {
        // offered under a definition of 5 attempts; the consumer deployed later says 1
        const producer = yield* Durable.producer(Numbers)
        const id = yield* producer.offer(1)
        const fewer = Durable.queue("numbers", { ...numbersOptions, maxAttempts: 1 })
        const consumer = yield* Supervisor.make({
          queue: fewer,
          workers: 1,
          timeout: "5 seconds",
          retry: Schedule.spaced("1 millis"),
          handler: () => Effect.fail("again")
        })
        const [info] = yield* awaitAll(producer, [id])
        // the store's record of the job says 5, and claims dead-letter by it: so does a retry
        expect(info).toMatchObject({ state: "dead", attempts: 5, maxAttempts: 5 })
        expect(yield* consumer.stats).toMatchObject({ retried: 4, dead: 1 })
      })))

    it.live("a task JSON cannot hold (NaN) is a ParseError at offer; a result it cannot hold, a Defect", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const refused = yield* Effect.flip(producer.offerAll([1, Number.NaN]))
        expect(ParseResult.isParseError(refused)).toBe(true)
        expect(String(refused)).toContain("NaN has no JSON form")
        const id = yield* producer.offer(1)
        yield* Supervisor.make({
          queue: Numbers,
          workers: 1,
          timeout: "5 seconds",
          handler: () => Effect.succeed(Infinity)
        })
        const [info] = yield* awaitAll(producer, [id])
        expect(info!.state).toBe("dead")
        expect(info!.lastError?._tag === "Defect" && info!.lastError.message).toContain("result does not encode")
      })))

    it.live("a key function that throws for one job makes it a dead letter; the others run", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const ids = yield* producer.offerAll([1, 2, 3])
        const consumer = yield* Supervisor.make({
          queue: Numbers,
          workers: 2,
          timeout: "5 seconds",
          key: (n: number) => {
            if (n === 2) throw new Error("no key for 2")
            return String(n)
          },
          handler: (n: number) => Effect.succeed(n)
        })
        const infos = yield* awaitAll(producer, ids)
        expect(infos.map((info) => info.state)).toEqual(["succeeded", "dead", "succeeded"])
        expect(infos[1]!.lastError?._tag === "Defect" && infos[1]!.lastError.message).toContain("no key for 2")
        // the consumer carries on
        const later = yield* producer.offer(4)
        expect((yield* awaitAll(producer, [later]))[0]!.state).toBe("succeeded")
        expect(yield* consumer.stats).toMatchObject({ succeeded: 3, dead: 1 })
      })))

    it.live("a handler that interrupts itself spends its attempts, each a Defect that says so, then is dead", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const id = yield* producer.offer(1)
        let runs = 0
        const consumer = yield* Supervisor.make({
          queue: Numbers,
          workers: 1,
          timeout: "5 seconds",
          handler: () => Effect.zipRight(Effect.sync(() => runs++), Effect.interrupt)
        })
        const [info] = yield* awaitAll(producer, [id])
        expect(info!.state).toBe("dead")
        expect(info!.attempts).toBe(5)
        expect(info!.lastError?._tag === "Defect" && info!.lastError.message).toContain("interrupted itself")
        expect(runs).toBe(5)
        expect(yield* consumer.stats).toMatchObject({ retried: 4, dead: 1, handedBack: 0 })
      })))

    it.live("bad durations are InvalidOptions: a consumer timeout of NaN or -1, retryDead's olderThan, negative strings", () =>
      run(Effect.gen(function*() {
        for (const timeout of [Number.NaN, -1, "abc", "-5 seconds"]) {
          const error = yield* Effect.flip(
            Supervisor.make({ queue: Numbers, workers: 1, timeout: timeout as never, handler: Effect.succeed })
          )
          expect(error).toBeInstanceOf(Errors.InvalidOptions)
        }
        const producer = yield* Durable.producer(Numbers)
        for (const olderThan of ["abc", "-1 hour"]) {
          const error = yield* Effect.flip(producer.retryDead({ olderThan: olderThan as never }))
          expect(error).toBeInstanceOf(Errors.InvalidOptions)
        }
        // "-5 millis" parsed as 0: a retention that deleted every finished job at once, an await
        // that polled without a pause, a delay of "now"
        const forgetful = Durable.queue("forgetful", { ...numbersOptions, retention: { succeeded: "-1 day" } })
        expect(yield* Effect.flip(Durable.producer(forgetful))).toBeInstanceOf(Errors.InvalidOptions)
        const id = yield* producer.offer(1)
        expect(yield* Effect.flip(producer.await(id, { pollInterval: "-5 millis" }))).toBeInstanceOf(
          Errors.InvalidOptions
        )
        expect(yield* Effect.flip(producer.offer(2, { delay: "-5 seconds" }))).toBeInstanceOf(Errors.InvalidOptions)
      })))
  })
}

for (const backend of all.list) {
  describe(`Durable second review on ${backend.name}`, () => {
    const run = runOn(backend)

    it.live("a retry due in 10 ms runs in about 10 ms, not at the next poll", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        let calls = 0
        yield* Supervisor.make({
          queue: Numbers,
          workers: 1,
          timeout: "5 seconds",
          pollInterval: "5 seconds",
          retry: Schedule.spaced("10 millis"),
          handler: (n: number) => Effect.suspend(() => ++calls < 4 ? Effect.fail("again") : Effect.succeed(n))
        })
        const started = Date.now()
        const id = yield* producer.offer(7)
        const [info] = yield* awaitAll(producer, [id])
        // real time, bounded: three retries before took three polls (15 s)
        expect(Date.now() - started).toBeLessThan(3000)
        expect([info!.state, info!.attempts]).toEqual(["succeeded", 4])
      })))

    /**
     * A consumer of `Numbers` running a job of 30 s of real time (the store's leases and the
     * database run on it), which a stop has to interrupt, not wait for.
     */
    const runningSlowJob = Effect.tap(
      Supervisor.make({
        queue: Numbers,
        workers: 1,
        timeout: "1 minute",
        handler: (n: number) => Effect.as(Effect.sleep("30 seconds"), n)
      }),
      (consumer) => eventually(consumer.stats, (stats) => stats.running === 1)
    )

    it.live("shutdownNow during a graceful shutdown interrupts the running job and hands it back", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const id = yield* producer.offer(1)
        const consumer = yield* runningSlowJob
        const draining = yield* Effect.fork(consumer.shutdown)
        yield* Effect.yieldNow()
        const started = Date.now()
        const stats = yield* consumer.shutdownNow
        expect(Date.now() - started).toBeLessThan(5000)
        expect(stats).toMatchObject({ handedBack: 1, succeeded: 0 })
        expect(yield* Fiber.join(draining)).toEqual(stats)
        const info = yield* producer.status(id)
        expect([info.state, info.attempts]).toEqual(["queued", 0])
      })))

    it.live("a shutdown whose caller gives up still ends; the scope's close then hands the job back", () =>
      run(Effect.gen(function*() {
        const producer = yield* Durable.producer(Numbers)
        const id = yield* producer.offer(1)
        yield* Effect.scoped(Effect.gen(function*() {
          const consumer = yield* runningSlowJob
          // before, the interruption was cached as the stop's result: the scope's close then
          // failed with it and handed nothing back
          const gaveUp = yield* Effect.either(Effect.timeout(consumer.shutdown, "200 millis"))
          expect(gaveUp._tag).toBe("Left")
        }))
        const info = yield* producer.status(id)
        expect([info.state, info.attempts]).toEqual(["queued", 0])
      })))

    it.live("a typed error JSON cannot hold is dead at once; a bad pollInterval is InvalidOptions", () =>
      run(Effect.gen(function*() {
        const queue = Durable.queue("nan-errors", { ...numbersOptions, failure: Schema.Number, maxAttempts: 3 })
        const producer = yield* Durable.producer(queue)
        const id = yield* producer.offer(1)
        yield* Supervisor.make({
          queue,
          workers: 1,
          timeout: "5 seconds",
          retry: Schedule.recurs(5),
          handler: () => Effect.fail(Number.NaN)
        })
        const info = yield* Effect.timeoutFail(producer.await(id), {
          duration: "10 seconds",
          onTimeout: () => new Error("not settled within 10 s")
        })
        expect([info.state, info.attempts]).toEqual(["dead", 1])
        expect(info.lastError?._tag === "Defect" && info.lastError.message).toContain("error does not encode")
        for (const pollInterval of [-1, Number.NaN, 0, "abc"]) {
          const error = yield* Effect.flip(
            Supervisor.make({
              queue,
              workers: 1,
              timeout: "1 second",
              pollInterval: pollInterval as never,
              handler: Effect.succeed
            })
          )
          expect(error).toBeInstanceOf(Errors.InvalidOptions)
        }
      })))
  })
}

describe("Durable review on PostgreSQL only", () => {
  const tables: Array<string> = []
  afterAll(() => dropPgTables(tables))
  const fresh = () => {
    const table = uniqueTable("durable_review")
    tables.push(table)
    return Durable.layerPg({ url: pgUrl, table })
  }
  const query = <A>(text: string, read: (rows: Array<any>) => A) =>
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: pgUrl })
      await client.connect()
      try {
        return read((await client.query(text)).rows)
      } finally {
        await client.end()
      }
    })
  const deadlocks = query(
    "SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()",
    (rows) => rows[0].n as number
  )
  const rows = (table: string) => query(`SELECT count(*)::int AS n FROM ${table}`, (rows) => rows[0].n as number)
  /**
   * Once the store's LISTEN is in place (its connection has run it), and a little more: the
   * store's own heartbeat has to come back before it counts as in place (bounded, real time).
   */
  const listening = (table: string) =>
    Effect.zipRight(
      eventually(
        query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'LISTEN "${table}"'`, (rows) => rows[0].n),
        (n) => n === 1
      ),
      Effect.sleep("200 millis")
    )

  /**
   * Offers from another store on `table`, as from another process (only a notification wakes
   * the consumers for them), and the ms from an offer until its job starts (`handler` records
   * the start). Real time: the subject is a real database's wake-up; bounded by `within` ms.
   */
  const remote = (table: string, queue: Durable.Queue<number, number, string>, within: number) =>
    Effect.gen(function*() {
      const started = new Map<number, number>()
      const elsewhere = yield* Layer.build(Durable.layerPg({ url: pgUrl, table }))
      const producer = yield* Durable.producer(queue).pipe(Effect.provide(elsewhere))
      return {
        handler: (n: number) => Effect.sync(() => (started.set(n, Date.now()), n)),
        latency: (n: number) =>
          Effect.gen(function*() {
            const at = Date.now()
            yield* producer.offer(n)
            yield* eventually(Effect.sync(() => started.has(n)), (has) => has, within)
            return started.get(n)! - at
          })
      }
    })

  it.live("a table name with capitals works (PostgreSQL folds the DDL's unquoted names)", () =>
    Effect.gen(function*() {
      const table = `Durable_Review_${process.pid}`
      tables.push(table.toLowerCase())
      const info = yield* Effect.provide(
        Effect.scoped(Effect.gen(function*() {
          const producer = yield* Durable.producer(Numbers)
          const id = yield* producer.offer(2)
          yield* Supervisor.make({ queue: Numbers, workers: 1, timeout: "5 seconds", handler: Effect.succeed })
          return (yield* awaitAll(producer, [id]))[0]!
        })),
        Durable.layerPg({ url: pgUrl, table })
      )
      expect([info.state, info.result]).toEqual(["succeeded", 2])
    }))

  it.live("one consumer's stop leaves the other consumers of its store their wake-ups", () =>
    Effect.gen(function*() {
      const table = uniqueTable("durable_listen")
      tables.push(table)
      const Other = Durable.queue("other", { ...numbersOptions, maxAttempts: 1 })
      // the consumers poll only every 8 s
      const { handler, latency } = yield* remote(table, Numbers, 10_000)
      const consumer = (queue: Durable.Queue<number, number, string>) =>
        Supervisor.make({ queue, workers: 1, timeout: "5 seconds", pollInterval: "8 seconds", handler })
      yield* Effect.provide(
        Effect.scoped(Effect.gen(function*() {
          yield* consumer(Numbers)
          yield* listening(table)
          expect(yield* latency(1)).toBeLessThan(1000)
          // another consumer of the same store comes and goes: before, its stop sent UNLISTEN
          // on the connection every consumer of the store listened on
          yield* Effect.scoped(consumer(Other))
          // real time: job 1's acknowledgement is written, so the claimer's next due time is
          // its poll (8 s), and only a notification can start job 2 sooner
          yield* Effect.sleep("500 millis")
          expect(yield* latency(2)).toBeLessThan(1000)
        })),
        Durable.layerPg({ url: pgUrl, table })
      )
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live(
    "a LISTEN whose connection dies is made again, and what was offered meanwhile runs then, not at the poll",
    () =>
      Effect.gen(function*() {
        const table = uniqueTable("durable_relisten")
        tables.push(table)
        // a lease longer than the test: no lease of its own due wakes the consumer either
        const queue = Durable.queue("numbers", { ...numbersOptions, lease: "60 seconds" })
        // the consumer polls only every 60 s
        const { handler, latency } = yield* remote(table, queue, 15_000)
        yield* Effect.provide(
          Effect.scoped(Effect.gen(function*() {
            yield* Supervisor.make({
              queue,
              workers: 1,
              timeout: "5 seconds",
              pollInterval: "60 seconds",
              handler
            })
            yield* listening(table)
            expect(yield* latency(1)).toBeLessThan(1000)
            // the server ends the listening connection (a restart, a pooler, an admin would)
            const ended = yield* query(
              `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = 'LISTEN "${table}"'`,
              (rows) => rows.length
            )
            expect(ended).toBe(1)
            // offered while nobody hears: it runs once the listener has found its connection deaf
            // (a heartbeat unanswered: 2 s periods) and listens again, about 7 s on
            expect(yield* latency(2)).toBeLessThan(12_000)
            // and the new LISTEN hears the next offer at once
            expect(yield* latency(3)).toBeLessThan(1000)
          })),
          Durable.layerPg({ url: pgUrl, table })
        )
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live(
    "a LISTEN that never hears itself (a pooler that drops it) costs a few heartbeats, not a stream",
    () =>
      Effect.gen(function*() {
        const table = uniqueTable("durable_deaf")
        tables.push(table)
        // the app's client, with a listen that never delivers
        const deafClient = Layer.effect(
          SqlClient.SqlClient,
          Effect.map(SqlClient.SqlClient, (sql) => {
            const proxy: SqlClient.SqlClient = new Proxy(sql, {
              get: (target, key) =>
                key === "listen"
                  ? () => Stream.never
                  : key === "withoutTransforms"
                  ? () => proxy
                  : Reflect.get(target, key)
            })
            return proxy
          })
        ).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(pgUrl) })))
        // the heartbeats are real notifications: another connection counts them
        const counter = new pg.Client({ connectionString: pgUrl })
        yield* Effect.promise(() => counter.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => counter.end()))
        let heartbeats = 0
        counter.on("notification", (message) => {
          if (message.payload === "ping") heartbeats++
        })
        yield* Effect.promise(() => counter.query(`LISTEN "${table}"`))
        yield* Effect.provide(
          Effect.scoped(Effect.gen(function*() {
            yield* Supervisor.make({ queue: Numbers, workers: 1, timeout: "5 seconds", handler: Effect.succeed })
            // real time: the store's listener runs on the wall clock; 12 s is one session of 10 s
            // that never hears itself and the start of the next, a second later
            yield* Effect.sleep("12 seconds")
          })),
          Layer.provideMerge(Durable.layerWith({ table }), deafClient)
        )
        // 100 ms doubling up to 2 s: 9 in the first 10 s, 1 as the next session starts (before:
        // one every 100 ms, ~110)
        expect(heartbeats).toBeGreaterThan(5)
        expect(heartbeats).toBeLessThan(15)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live(
    "a process starting while another's transaction has written to the table does not wait for it",
    () =>
      Effect.gen(function*() {
        const table = uniqueTable("durable_start")
        tables.push(table)
        yield* Layer.build(Durable.layerPg({ url: pgUrl, table }))
        // an app's transaction (an outbox) wrote a job and is still open
        const app = new pg.Client({ connectionString: pgUrl })
        yield* Effect.promise(() => app.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => app.end()))
        yield* Effect.promise(() =>
          app.query(
            `BEGIN; INSERT INTO ${table} (queue, payload, max_attempts, run_at, created_at) VALUES ('numbers', '1', 1, 0, 0)`
          )
        )
        // it ends in 3 s: before, the new layer's DDL (CREATE INDEX IF NOT EXISTS takes a SHARE
        // lock) waited for it, and every claim and renewal of every process queued behind that
        yield* Effect.forkScoped(Effect.delay(Effect.promise(() => app.query("ROLLBACK")), "3 seconds"))
        // real time: the wait under test is PostgreSQL's lock queue, on the database's clock
        const started = Date.now()
        yield* Layer.build(Durable.layerPg({ url: pgUrl, table }))
        expect(Date.now() - started).toBeLessThan(1500)
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )

  it.live("ids past 2^53 (BIGSERIAL goes to 2^63): each job's completion lands on that job", () =>
    Effect.gen(function*() {
      const table = uniqueTable("durable_big_ids")
      tables.push(table)
      yield* Effect.provide(
        Effect.scoped(Effect.gen(function*() {
          const producer = yield* Durable.producer(Numbers)
          yield* query(`ALTER SEQUENCE ${table}_id_seq RESTART WITH 9007199254740992`, () => undefined)
          const ids = yield* producer.offerAll([1, 2])
          expect(ids).toEqual(["9007199254740992", "9007199254740993"])
          const runs: Array<number> = []
          yield* Supervisor.make({
            queue: Numbers,
            workers: 2,
            timeout: "5 seconds",
            handler: (n: number) => Effect.sync(() => (runs.push(n), n * 100))
          })
          // before, the acknowledgement sent each id as a JSON number: ...993 became ...992, so
          // one job never completed (fenced, run again) and the other got its neighbour's result
          const infos = yield* awaitAll(producer, ids)
          expect(infos.map((info) => [info.state, info.result, info.attempts])).toEqual([
            ["succeeded", 100, 1],
            ["succeeded", 200, 1]
          ])
          expect(runs.sort()).toEqual([1, 2])
        })),
        Durable.layerPg({ url: pgUrl, table })
      )
    }))

  it.live("an acknowledgement over several statements is all or none: a retried batch counts no job as fenced", () => {
    const table = uniqueTable("durable_settle")
    tables.push(table)
    return Effect.gen(function*() {
      const queue = Durable.queue("chunks", { ...numbersOptions, lease: "20 seconds" })
      yield* Effect.provide(
        Effect.scoped(Effect.gen(function*() {
          const producer = yield* Durable.producer(queue)
          const ids = yield* producer.offerAll(Array.from({ length: 1500 }, (_, i) => i))
          // the database refuses once the completion of the 1,201st job: in the second of the
          // two settle statements (1,000 rows each) of one acknowledgement
          yield* query(`CREATE SEQUENCE ${table}_once`, () => undefined)
          yield* query(
            `CREATE FUNCTION ${table}_fail() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.status = 1 AND NEW.id = ${ids[1200]} AND nextval('${table}_once') = 1 THEN
               RAISE EXCEPTION 'transient failure'; END IF; RETURN NEW; END $$`,
            () => undefined
          )
          yield* query(
            `CREATE TRIGGER ${table}_fail BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_fail()`,
            () => undefined
          )
          const go = yield* Deferred.make<void>()
          const consumer = yield* Supervisor.make({
            queue,
            workers: 1500,
            prefetch: 0,
            timeout: "30 seconds",
            handler: (n: number) => Effect.as(Deferred.await(go), n)
          })
          yield* eventually(consumer.stats, (stats) => stats.running === 1500, 15_000)
          yield* Deferred.succeed(go, undefined)
          const stats = yield* eventually(consumer.stats, (stats) => stats.held === 0, 15_000)
          // before, the first statement's 1,000 had committed on their own, and the batch sent
          // again counted them as lost to another completion
          expect(stats).toMatchObject({ succeeded: 1500, fenced: 0 })
          expect(yield* rows(`${table} WHERE status = 1`)).toBe(1500)
        })),
        Durable.layerPg({ url: pgUrl, table })
      )
    }).pipe(
      Effect.ensuring(Effect.ignore(query(
        `DROP FUNCTION IF EXISTS ${table}_fail() CASCADE; DROP SEQUENCE IF EXISTS ${table}_once`,
        () => undefined
      )))
    )
  }, { timeout: 60_000 })

  it.live("offerAll over several statements is all or none", () =>
    Effect.gen(function*() {
      const queue = Durable.queue("keys", {
        task: Schema.String,
        success: Schema.Void,
        failure: Schema.Never,
        maxAttempts: 1,
        lease: "1 second",
        idempotencyKey: (task: string) => task
      })
      const layer = fresh()
      const table = tables.at(-1)!
      // 5,000 a statement: the first commits on its own unless the batch is one transaction;
      // PostgreSQL refuses the NUL in the last one's key
      const tasks = [...Array.from({ length: 5001 }, (_, i) => `t${i}`), "bad\u0000key"]
      const exit = yield* Effect.exit(
        Effect.provide(Effect.flatMap(Durable.producer(queue), (p) => p.offerAll(tasks)), layer)
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* rows(table)).toBe(0)
    }))

  it.live("a consumer's lease renewals and acknowledgements do not deadlock", () =>
    Effect.gen(function*() {
      // PostgreSQL counts the deadlocks it broke (a cycle waits deadlock_timeout, 1 s, first:
      // longer than this lease, so jobs also ran twice); the other tests share the database
      // and must not deadlock either
      const before = yield* deadlocks
      const queue = Durable.queue("churn", {
        task: Schema.Number,
        success: Schema.Void,
        failure: Schema.Never,
        maxAttempts: 3,
        lease: "300 millis"
      })
      const runs = new Map<number, number>()
      const stats = yield* Effect.provide(
        Effect.scoped(Effect.gen(function*() {
          const producer = yield* Durable.producer(queue)
          const ids = yield* producer.offerAll(Array.from({ length: 10_000 }, (_, i) => i))
          const consumer = yield* Supervisor.make({
            queue,
            workers: 16,
            timeout: "5 seconds",
            // 1 ms of real time a job: renewals and acknowledgements overlap, as in a service
            handler: (n: number) =>
              Effect.zipRight(Effect.sync(() => runs.set(n, (runs.get(n) ?? 0) + 1)), Effect.sleep(1))
          })
          yield* Effect.timeoutFail(Effect.forEach(ids, (id) => producer.await(id)), {
            duration: "60 seconds",
            onTimeout: () => new Error("not done within 60 s")
          })
          return yield* consumer.shutdown
        })),
        fresh()
      )
      expect(yield* deadlocks).toBe(before)
      expect(stats).toMatchObject({ dead: 0 })
      expect(runs.size).toBe(10_000)
    }), { timeout: 90_000 })
})

describe("Durable.layerWith over an app client that transforms names (snake_case <-> camelCase)", () => {
  const table = uniqueTable("durable_camel")
  const dir = tempDir()
  afterAll(async () => {
    removeDir(dir)
    await dropPgTables([table])
  })
  const Keyed = Durable.queue("camel", {
    task: Schema.Number,
    success: Schema.Number,
    failure: Schema.String,
    maxAttempts: 2,
    lease: "3 seconds",
    idempotencyKey: (n: number) => `k${n}`
  })
  const transforms = { transformResultNames: Str.snakeToCamel, transformQueryNames: Str.camelToSnake }
  const clients: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>]> = [
    ["pg", PgClient.layer({ url: Redacted.make(pgUrl), ...transforms })],
    ["sqlite", SqliteClient.layer({ filename: join(dir, "camel.db"), ...transforms })]
  ]
  for (const [name, client] of clients) {
    it.live(`${name}: idempotent offers return the existing id, status and await read the rows`, () =>
      Effect.gen(function*() {
        const producer = yield* Durable.producer(Keyed)
        const ids = yield* producer.offerAll([1, 2])
        expect(yield* producer.offer(1)).toBe(ids[0])
        yield* Supervisor.make({
          queue: Keyed,
          workers: 2,
          timeout: "5 seconds",
          handler: (n: number) => Effect.succeed(n * 10)
        })
        const infos = yield* awaitAll(producer, ids)
        expect(infos.map((info) => [info.state, info.result])).toEqual([["succeeded", 10], ["succeeded", 20]])
      }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(Durable.layerWith({ table }), client))))
  }
})

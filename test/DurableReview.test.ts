/**
 * One regression test per defect the review of durable queues found, on every backend the
 * defect concerns (a real SQLite file and a real PostgreSQL). Each failed before its fix.
 * Real databases, so `it.live` with bounded waits.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, ParseResult, Schedule, Schema, type Scope } from "effect"
import { Errors, Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import pg from "pg"
import { backends, dropPgTables, pgUrl, requirePg, uniqueTable } from "./durable/backends.js"

const Numbers = Durable.queue("numbers", {
  task: Schema.Number,
  success: Schema.Number,
  failure: Schema.String,
  maxAttempts: 5,
  lease: "2 seconds"
})

const all = backends({ memory: true })
beforeAll(requirePg)
afterAll(all.cleanup)

/** bounded: a job that never settles fails the test instead of hanging it */
const awaitAll = (producer: Durable.Producer<number, number, string>, ids: ReadonlyArray<Durable.JobId>) =>
  Effect.timeoutFail(Effect.forEach(ids, (id) => producer.await(id)), {
    duration: "10 seconds",
    onTimeout: () => new Error("jobs did not settle within 10 s")
  })

for (const backend of all.list) {
  describe(`Durable review on ${backend.name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Durable.Store | Scope.Scope>) =>
      Effect.provide(Effect.scoped(effect), backend.fresh())

    it.live("a jittered retry schedule (fractional delays) retries, and a fractional lease claims", () =>
      run(Effect.gen(function*() {
        const queue = Durable.queue("fractions", {
          task: Schema.Number,
          success: Schema.Number,
          failure: Schema.String,
          maxAttempts: 5,
          lease: "1000.5 millis"
        })
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

    it.live("bad durations are InvalidOptions: a consumer timeout of NaN or -1, retryDead's olderThan", () =>
      run(Effect.gen(function*() {
        for (const timeout of [Number.NaN, -1, "abc"]) {
          const error = yield* Effect.flip(
            Supervisor.make({ queue: Numbers, workers: 1, timeout: timeout as never, handler: Effect.succeed })
          )
          expect(error).toBeInstanceOf(Errors.InvalidOptions)
        }
        const producer = yield* Durable.producer(Numbers)
        const error = yield* Effect.flip(producer.retryDead({ olderThan: "abc" as never }))
        expect(error).toBeInstanceOf(Errors.InvalidOptions)
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

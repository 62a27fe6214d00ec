import { Effect, Fiber, type Layer, TestClock } from "effect"
import { Durable } from "effect-supervisor/durable"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"

export const pgUrl = process.env.DURABLE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** a table name of its own per test run, so parallel runs never collide */
export const uniqueTable = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`

/** Fails with what is missing when PostgreSQL cannot be reached (never skips silently). */
export const requirePg = async (): Promise<void> => {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${pgUrl} (${String(error)}): the durable PostgreSQL tests need a ` +
        `server — start it (.ci/run does) or point DURABLE_PG_URL at one`
    )
  } finally {
    await client.end().catch(() => undefined)
  }
}

export const dropPgTables = async (tables: ReadonlyArray<string>): Promise<void> => {
  const client = new pg.Client({ connectionString: pgUrl })
  await client.connect()
  try {
    for (const table of tables) {
      await client.query(`DROP TABLE IF EXISTS ${table} CASCADE`)
      await client.query(`DROP FUNCTION IF EXISTS ${table}_notify()`)
    }
  } finally {
    await client.end()
  }
}

export const tempDir = () => mkdtempSync(join(tmpdir(), "durable-"))
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true })

export interface Backend {
  readonly name: string
  /** a fresh, empty store (its own table or file) */
  readonly fresh: () => Layer.Layer<Durable.Store, Durable.StoreError>
}

/** a fresh store per test on a real SQLite file and a real PostgreSQL; `memory` adds `Durable.layerMemory` */
export const backends = (
  options: { readonly memory?: boolean } = {}
): { readonly list: ReadonlyArray<Backend>; readonly cleanup: () => Promise<void> } => {
  const dir = tempDir()
  const tables: Array<string> = []
  let files = 0
  return {
    list: [
      ...(options.memory === true ? [{ name: "memory", fresh: () => Durable.layerMemory }] : []),
      { name: "sqlite", fresh: () => Durable.layerSqlite({ file: join(dir, `jobs-${files++}.db`) }) },
      {
        name: "pg",
        fresh: () => {
          const table = uniqueTable("durable_test")
          tables.push(table)
          return Durable.layerPg({ url: pgUrl, table })
        }
      }
    ],
    cleanup: async () => {
      removeDir(dir)
      if (tables.length > 0) await dropPgTables(tables)
    }
  }
}

/** polls `check` every 10 ms until it holds, at most `within` ms (real time) */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  check: (a: A) => boolean,
  within = 5000
): Effect.Effect<A, E | Error, R> =>
  Effect.gen(function*() {
    const until = Date.now() + within
    while (true) {
      const value = yield* effect
      if (check(value)) return value
      if (Date.now() > until) {
        return yield* Effect.fail(new Error(`not reached within ${within} ms: ${JSON.stringify(value)}`))
      }
      // a bounded real-time poll: the databases and child processes run on wall-clock time
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
  })

/** runs `effect` on the TestClock, moving time on in 10 ms steps until it ends (at most 10 minutes) */
export const drive = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Error, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let step = 0; step < 60_000; step++) {
      const done = yield* Fiber.poll(fiber)
      if (done._tag === "Some") return yield* done.value
      yield* TestClock.adjust("10 millis")
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.fail(new Error("not done within 10 minutes of test time"))
  })

/**
 * The two backends for tests whose child processes open the store themselves: a fresh SQLite
 * file in `dir()`, or a fresh PostgreSQL table (recorded in `tables` for dropping).
 */
export const processTargets = (dir: () => string, tables: Array<string>, prefix: string) =>
  [
    { name: "sqlite", where: () => join(dir(), `${uniqueTable(prefix)}.db`) },
    {
      name: "pg",
      where: () => {
        const table = uniqueTable(`durable_${prefix}`)
        tables.push(table)
        return table
      }
    }
  ] as const

/** The store layer for a target of {@link processTargets}. */
export const storeFor = (backend: string, where: string) =>
  backend === "pg" ? Durable.layerPg({ url: pgUrl, table: where }) : Durable.layerSqlite({ file: where })

/**
 * Durable queues, end to end: 10,000 no-op jobs enqueued in bulk, then consumed by 2 processes
 * × 2 consumers; jobs/s from "go" to the last completion, for our SQLite and PostgreSQL stores,
 * BullMQ on the local Redis and graphile-worker (batched) on the same PostgreSQL, same run.
 *
 *   npx tsx bench/durable/run.ts [--jobs 10000] [--rounds 2]
 *
 * Standalone (not part of bench/run.ts). Needs PostgreSQL at 127.0.0.1:5432 (db `test`) and
 * Redis at 127.0.0.1:6379.
 */
import { Queue as BullQueue, Worker as BullWorker } from "bullmq"
import { Effect, Schema } from "effect"
import { Durable } from "effect-supervisor/durable"
import { makeWorkerUtils, run as runGraphile } from "graphile-worker"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import pg from "pg"

const PG_URL = process.env.DURABLE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const REDIS = { host: "127.0.0.1", port: 6379 }
const CONSUMERS_PER_PROCESS = 2
const CONCURRENCY = 16
const REPORT_EVERY_MS = 5

type System = "durable-sqlite" | "durable-pg" | "bullmq" | "graphile-worker"

const Bench = Durable.queue("bench", {
  task: Schema.Number,
  success: Schema.Void,
  failure: Schema.Never,
  maxAttempts: 3,
  lease: "30 seconds"
})

const storeLayer = (system: System, where: string) =>
  system === "durable-pg" ? Durable.layerPg({ url: PG_URL, table: where }) : Durable.layerSqlite({ file: where })

// ---- child: consume until killed, print "n <count>" of completions every REPORT_EVERY_MS ----

const child = async (system: System, where: string) => {
  let unreported = 0
  const completed = () => {
    unreported++
  }
  // completions since the last report, every few ms (one line per job would cost more than the jobs)
  setInterval(() => {
    if (unreported === 0) return
    process.stdout.write(`n ${unreported}\n`)
    unreported = 0
  }, REPORT_EVERY_MS)
  const go = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))
  if (system === "bullmq") {
    const workers = Array.from(
      { length: CONSUMERS_PER_PROCESS },
      () =>
        new BullWorker(where, async () => undefined, { connection: REDIS, concurrency: CONCURRENCY, autorun: false })
    )
    for (const worker of workers) worker.on("completed", completed)
    await Promise.all(workers.map((worker) => worker.waitUntilReady()))
    process.stdout.write("ready\n")
    await go
    for (const worker of workers) void worker.run()
    return
  }
  if (system === "graphile-worker") {
    process.stdout.write("ready\n")
    await go
    for (let i = 0; i < CONSUMERS_PER_PROCESS; i++) {
      await runGraphile({
        connectionString: PG_URL,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        taskList: { [where]: async () => completed() },
        preset: {
          worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0, pollInterval: 100 }
        }
      })
    }
    return
  }
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      yield* Effect.sync(() => process.stdout.write("ready\n"))
      yield* Effect.promise(() => go)
      for (let i = 0; i < CONSUMERS_PER_PROCESS; i++) {
        yield* Durable.consumer({
          queue: Bench,
          workers: CONCURRENCY,
          timeout: "30 seconds",
          handler: () => Effect.sync(completed)
        })
      }
      return yield* Effect.never
    })).pipe(Effect.provide(storeLayer(system, where)), Effect.orDie)
  )
}

// ---- parent ----

const enqueue = async (system: System, where: string, jobs: number): Promise<number> => {
  const tasks = Array.from({ length: jobs }, (_, i) => i)
  const started = performance.now()
  if (system === "bullmq") {
    const queue = new BullQueue(where, { connection: REDIS })
    for (let i = 0; i < jobs; i += 1000) {
      await queue.addBulk(
        tasks.slice(i, i + 1000).map((n) => ({ name: "job", data: n, opts: { removeOnComplete: true } }))
      )
    }
    const took = performance.now() - started
    await queue.close()
    return took
  }
  if (system === "graphile-worker") {
    const utils = await makeWorkerUtils({ connectionString: PG_URL })
    await utils.migrate()
    const t0 = performance.now()
    for (let i = 0; i < jobs; i += 1000) {
      await utils.addJobs(tasks.slice(i, i + 1000).map((n) => ({ identifier: where, payload: { n } })))
    }
    const took = performance.now() - t0
    await utils.release()
    return took
  }
  return Effect.runPromise(
    Effect.gen(function*() {
      const producer = yield* Durable.producer(Bench)
      const t0 = performance.now()
      yield* producer.offerAll(tasks)
      return performance.now() - t0
    }).pipe(Effect.provide(storeLayer(system, where)))
  )
}

const self = fileURLToPath(import.meta.url)

const consume = async (system: System, where: string, jobs: number): Promise<number> => {
  const children = [0, 1].map(() =>
    spawn(process.execPath, ["--import", "tsx", self, "child", system, where], { stdio: ["pipe", "pipe", "inherit"] })
  )
  let ready = 0
  let done = 0
  let started = 0
  const finished = new Promise<number>((resolve) => {
    for (const childProcess of children) {
      createInterface({ input: childProcess.stdout! }).on("line", (line) => {
        if (line === "ready" && ++ready === children.length) {
          started = performance.now()
          for (const c of children) c.stdin!.write("go\n")
        } else if (line.startsWith("n ")) {
          done += Number(line.slice(2))
          if (done >= jobs) resolve(performance.now() - started)
        }
      })
    }
  })
  const took = await finished
  for (const childProcess of children) childProcess.kill("SIGKILL")
  return took
}

const cleanupPg = async (table: string) => {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`DROP TABLE IF EXISTS ${table} CASCADE`)
  await client.query(`DROP FUNCTION IF EXISTS ${table}_notify()`)
  await client.query(`DELETE FROM graphile_worker._private_jobs WHERE task_id IN
    (SELECT id FROM graphile_worker._private_tasks WHERE identifier LIKE 'bench_%')`).catch(() => undefined)
  await client.end()
}

const main = async () => {
  const args = process.argv.slice(2)
  if (args[0] === "child") return child(args[1] as System, args[2])
  const option = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`)
    return index === -1 ? fallback : Number(args[index + 1])
  }
  const jobs = option("jobs", 10_000)
  const rounds = option("rounds", 2)
  const systems: Array<System> = ["durable-sqlite", "durable-pg", "bullmq", "graphile-worker"]
  const dir = mkdtempSync(join(tmpdir(), "durable-bench-"))
  const results = new Map<System, { enqueue: Array<number>; e2e: Array<number> }>()
  for (let round = 0; round < rounds; round++) {
    // interleaved: every system once per round, so drift on the shared machine hits all alike
    for (const system of systems) {
      const tag = `bench_${process.pid}_${round}_${system.replace(/-/g, "_")}`
      const where = system === "durable-sqlite" ? join(dir, `${tag}.db`) : tag
      const enqueueMillis = await enqueue(system, where, jobs)
      const consumeMillis = await consume(system, where, jobs)
      const entry = results.get(system) ?? { enqueue: [], e2e: [] }
      entry.enqueue.push(jobs / (enqueueMillis / 1000))
      entry.e2e.push(jobs / (consumeMillis / 1000))
      results.set(system, entry)
      if (system === "durable-pg") await cleanupPg(where)
      process.stderr.write(
        `round ${round + 1} ${system}: enqueue ${Math.round(jobs / (enqueueMillis / 1000))}/s, ` +
          `end to end ${Math.round(jobs / (consumeMillis / 1000))} jobs/s\n`
      )
    }
  }
  rmSync(dir, { recursive: true, force: true })
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const e2e = (system: System) => median(results.get(system)!.e2e)
  console.log(
    `\n${jobs} no-op jobs, 2 processes x ${CONSUMERS_PER_PROCESS} consumers x ${CONCURRENCY} concurrency, median of ${rounds}`
  )
  console.log("| system | enqueue jobs/s | end to end jobs/s | vs BullMQ | vs graphile-worker |")
  console.log("|---|---|---|---|---|")
  for (const system of systems) {
    const entry = results.get(system)!
    console.log(
      `| ${system} | ${Math.round(median(entry.enqueue))} | ${Math.round(e2e(system))} | ` +
        `${(e2e(system) / e2e("bullmq")).toFixed(2)}x | ${(e2e(system) / e2e("graphile-worker")).toFixed(2)}x |`
    )
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

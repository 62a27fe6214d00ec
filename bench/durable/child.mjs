// One process of the durable benchmark (spawned by bench/durable/run.ts). Plain JS run by
// `node`, not tsx: tsx compiles with esbuild's keepNames, a cost no user of the published JS
// pays (see bench/lib/build.ts); the library comes from its build, dist/ (or DURABLE_MODULE,
// the build of another commit for an A/B run).
//
//   node child.mjs enqueue <system> <where> <jobs>   prints "enqueued <ms>", exits
//   node child.mjs consume <system> <where>          prints "ready", starts on a "go" line,
//     prints "n <count>" (handler calls since the last line) every few ms, and on a "stop"
//     line prints "final <µs of CPU since go>" and exits (so that --cpu-prof writes its profile)
import { Queue as BullQueue, Worker as BullWorker } from "bullmq"
import { Effect, Schema } from "effect"
import { makeWorkerUtils, run as runGraphile } from "graphile-worker"
import { createInterface } from "node:readline"
import { pathToFileURL } from "node:url"

const PG_URL = process.env.DURABLE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const REDIS = { host: "127.0.0.1", port: 6379 }
const CONSUMERS_PER_PROCESS = 2
const CONCURRENCY = 16
const REPORT_EVERY_MS = 5
const CHUNK = 1000

const { Durable } = await import(
  process.env.DURABLE_MODULE === undefined ? "effect-supervisor/durable" : pathToFileURL(process.env.DURABLE_MODULE).href
)

const Bench = Durable.queue("bench", {
  task: Schema.Number,
  success: Schema.Void,
  failure: Schema.Never,
  maxAttempts: 3,
  lease: "30 seconds"
})

const storeLayer = (system, where) =>
  system === "durable-pg" ? Durable.layerPg({ url: PG_URL, table: where }) : Durable.layerSqlite({ file: where })

const lines = createInterface({ input: process.stdin })
const nextLine = (text) => new Promise((resolve) => lines.on("line", (line) => line === text && resolve()))

const enqueue = async (system, where, jobs) => {
  const tasks = Array.from({ length: jobs }, (_, i) => i)
  if (system === "bullmq") {
    const queue = new BullQueue(where, { connection: REDIS })
    await queue.waitUntilReady()
    const t0 = performance.now()
    for (let i = 0; i < jobs; i += CHUNK) {
      await queue.addBulk(
        tasks.slice(i, i + CHUNK).map((n) => ({ name: "job", data: n, opts: { removeOnComplete: true } }))
      )
    }
    const took = performance.now() - t0
    await queue.close()
    return took
  }
  if (system === "graphile-worker") {
    const utils = await makeWorkerUtils({ connectionString: PG_URL })
    await utils.migrate()
    const t0 = performance.now()
    for (let i = 0; i < jobs; i += CHUNK) {
      await utils.addJobs(tasks.slice(i, i + CHUNK).map((n) => ({ identifier: where, payload: { n } })))
    }
    const took = performance.now() - t0
    await utils.release()
    return took
  }
  // the layer (connection, migrations) is built before the clock starts, as for the others
  return Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const producer = yield* Durable.producer(Bench)
      const t0 = performance.now()
      const ids = yield* producer.offerAll(tasks)
      if (ids.length !== jobs) throw new Error(`offerAll returned ${ids.length} ids for ${jobs} jobs`)
      return performance.now() - t0
    })).pipe(Effect.provide(storeLayer(system, where)))
  )
}

const consume = async (system, where) => {
  let unreported = 0
  const completed = () => {
    unreported++
  }
  const report = () => {
    if (unreported === 0) return
    process.stdout.write(`n ${unreported}\n`)
    unreported = 0
  }
  // completions since the last line, every few ms (a line per job would cost more than the jobs)
  setInterval(report, REPORT_EVERY_MS)
  const go = nextLine("go")
  let cpuAtGo
  void go.then(() => {
    cpuAtGo = process.cpuUsage()
  })
  void nextLine("stop").then(() => {
    report()
    // this process's CPU since "go" (µs): the work of the run plus the idle wait until "stop"
    const cpu = process.cpuUsage(cpuAtGo)
    process.stdout.write(`final ${cpu.user + cpu.system}\n`, () => process.exit(0))
  })
  if (system === "bullmq") {
    const workers = Array.from(
      { length: CONSUMERS_PER_PROCESS },
      () => new BullWorker(where, async () => completed(), { connection: REDIS, concurrency: CONCURRENCY, autorun: false })
    )
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
      // the store (connection, migrations) is built before "ready"
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

const [mode, system, where, jobs] = process.argv.slice(2)
if (mode === "enqueue") {
  const took = await enqueue(system, where, Number(jobs))
  process.stdout.write(`enqueued ${took}\n`, () => process.exit(0))
} else if (mode === "consume") {
  await consume(system, where)
} else {
  throw new Error(`unknown mode ${mode}`)
}

/**
 * Durable queues, end to end: 10,000 no-op jobs enqueued in bulk, then consumed by 2 processes
 * × 2 consumers × 16 workers; jobs/s from "go" until the store has every job completed, for our
 * SQLite and PostgreSQL stores, BullMQ on the local Redis and graphile-worker (batched) on the
 * same PostgreSQL, every system once per round (interleaved, the order rotated each round),
 * each sample in fresh processes.
 *
 *   npx tsx bench/durable/run.ts [--jobs 10000] [--rounds 3] [--systems a,b]
 *     [--variant name=path/to/durable/index.js ...] [--cpu-prof dir] [--no-build]
 *
 * Standalone (not part of bench/run.ts). Needs PostgreSQL at 127.0.0.1:5432 (db `test`) and
 * Redis at 127.0.0.1:6379. Builds the package first (`npm run build`): the children run the
 * published JS with plain `node` (bench/durable/child.mjs). `--variant` runs each durable
 * system once per variant and round against another build (an A/B of two commits in one
 * run). Every sample is checked: each job ran exactly once (the handler calls the children
 * count) and the store holds it completed (durable: status ok with one attempt; BullMQ and
 * graphile-worker: nothing left in the queue). A full run (10,000 jobs, every system, no
 * variant) writes bench/results/durable.json and durable.md; other runs write under
 * bench/results/tmp/.
 */
import { Queue as BullQueue } from "bullmq"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { machine, monitorLoad } from "../lib/machine.js"
import { median } from "../lib/stats.js"

const PG_URL = process.env.DURABLE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const REDIS = { host: "127.0.0.1", port: 6379 }
const PROCESSES = 2
/** a sample that has not finished by then failed (a lost job would otherwise hang the run) */
const SAMPLE_TIMEOUT_MS = 120_000
/** how often the parent reads the store once the handlers have run every job */
const CONFIRM_POLL_MS = 2

type Base = "durable-sqlite" | "durable-pg" | "bullmq" | "graphile-worker"
const BASES: ReadonlyArray<Base> = ["durable-sqlite", "durable-pg", "bullmq", "graphile-worker"]

interface System {
  /** the label in the results: the base, and the variant for an A/B */
  readonly label: string
  readonly base: Base
  /** the durable module the children load (DURABLE_MODULE); undefined: this package's dist/ */
  readonly module: string | undefined
}

interface Sample {
  readonly round: number
  readonly system: string
  readonly enqueueMillis: number
  readonly enqueuePerSecond: number
  /** from "go" until the children counted the last handler call */
  readonly handlersMillis: number
  /** from "go" until the store had every job completed: the end-to-end figure */
  readonly endToEndMillis: number
  readonly endToEndPerSecond: number
  /** handler calls the children counted by the end (exactly `jobs` when nothing ran twice) */
  readonly handlerCalls: number
  /** CPU of the consumer processes from "go" to "stop" (all of them), per job: µs */
  readonly consumerCpuMicrosPerJob: number
  /** what the store said at the end */
  readonly store: Record<string, number>
  readonly loadAvg1: number
}

const root = fileURLToPath(new URL("../..", import.meta.url))
const childScript = fileURLToPath(new URL("./child.mjs", import.meta.url))

// ---- the store at the end of a sample ----

interface SqliteDatabase {
  prepare(sql: string): { get(...params: Array<unknown>): Record<string, number> }
  close(): void
}
const Sqlite = createRequire(import.meta.url)("better-sqlite3") as new(
  file: string,
  options: { readonly: boolean }
) => SqliteDatabase

/** a store's view of one sample: `done` is true once every job is completed there */
interface Checker {
  readonly read: () => Promise<{ readonly done: boolean; readonly counts: Record<string, number> }>
  readonly close: () => Promise<void>
}

const pgClient = async () => {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  return client
}

const checker = async (base: Base, where: string, jobs: number): Promise<Checker> => {
  if (base === "durable-sqlite" || base === "durable-pg") {
    const statement = `SELECT COUNT(*) AS total,
        COALESCE(SUM(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0) AS ok,
        COALESCE(SUM(CASE WHEN status = 1 AND attempts = 1 THEN 1 ELSE 0 END), 0) AS ok_first_attempt
      FROM ${base === "durable-pg" ? where : "effect_supervisor_jobs"} WHERE queue = 'bench'`
    const judge = (row: Record<string, unknown>) => {
      const counts = { total: Number(row.total), ok: Number(row.ok), okFirstAttempt: Number(row.ok_first_attempt) }
      return { done: counts.ok === jobs, counts }
    }
    if (base === "durable-sqlite") {
      const db = new Sqlite(where, { readonly: true })
      const prepared = db.prepare(statement)
      return { read: async () => judge(prepared.get()), close: async () => db.close() }
    }
    const client = await pgClient()
    return {
      read: async () => judge((await client.query(statement)).rows[0]),
      close: () => client.end()
    }
  }
  if (base === "bullmq") {
    const queue = new BullQueue(where, { connection: REDIS })
    return {
      read: async () => {
        // removeOnComplete: a completed job leaves the queue
        const counts = await queue.getJobCounts("wait", "active", "delayed", "prioritized", "paused", "failed")
        return { done: Object.values(counts).every((n) => n === 0), counts }
      },
      close: async () => {
        await queue.obliterate({ force: true })
        await queue.close()
      }
    }
  }
  const client = await pgClient()
  return {
    read: async () => {
      // graphile-worker deletes a job when it completes; a failed one stays with its attempts
      const { rows } = await client.query(
        `SELECT COUNT(*)::int AS left, COALESCE(SUM(CASE WHEN j.attempts > 1 THEN 1 ELSE 0 END), 0)::int AS retried
         FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
         WHERE t.identifier = $1`,
        [where]
      )
      return { done: rows[0].left === 0, counts: { left: rows[0].left, retried: rows[0].retried } }
    },
    close: () => client.end()
  }
}

// ---- one sample ----

const spawnChild = (system: System, args: Array<string>, cpuProf: string | undefined): ChildProcess =>
  spawn(
    process.execPath,
    [...(cpuProf === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", cpuProf]), childScript, ...args],
    {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...(system.module === undefined ? {} : { DURABLE_MODULE: system.module }) }
    }
  )

const enqueue = (system: System, where: string, jobs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawnChild(system, ["enqueue", system.base, where, String(jobs)], undefined)
    let took: number | undefined
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("enqueued ")) took = Number(line.slice("enqueued ".length))
    })
    child.on("exit", (code) =>
      took === undefined ? reject(new Error(`${system.label} enqueue exited ${code}`)) : resolve(took))
  })

const consume = async (
  system: System,
  where: string,
  jobs: number,
  cpuProf: string | undefined
): Promise<Omit<Sample, "round" | "system" | "enqueueMillis" | "enqueuePerSecond" | "loadAvg1">> => {
  const check = await checker(system.base, where, jobs)
  const children = Array.from({ length: PROCESSES }, () => spawnChild(system, ["consume", system.base, where], cpuProf))
  let ready = 0
  let calls = 0
  let started = 0
  let handlersAt = 0
  let finals = 0
  let cpuMicros = 0
  // exited after "final": a --cpu-prof child writes its profile on the way out
  const exited = children.map((child) => new Promise<void>((resolve) => child.on("exit", () => resolve())))
  const handlersDone = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${system.label}: ${calls} of ${jobs} handler calls after ${SAMPLE_TIMEOUT_MS} ms`)),
      SAMPLE_TIMEOUT_MS
    )
    for (const child of children) {
      child.on("exit", (code) => {
        if (finals < children.length) reject(new Error(`${system.label}: a consumer exited (${code}) mid-sample`))
      })
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line === "ready" && ++ready === children.length) {
          started = performance.now()
          for (const c of children) c.stdin!.write("go\n")
        } else if (line.startsWith("n ")) {
          calls += Number(line.slice(2))
          if (calls >= jobs && handlersAt === 0) {
            handlersAt = performance.now()
            clearTimeout(timer)
            resolve()
          }
        } else if (line.startsWith("final ")) {
          finals++
          cpuMicros += Number(line.slice("final ".length))
        }
      })
    }
  })
  try {
    await handlersDone
    // the handlers ran every job; end to end ends when the store has them all completed
    let state = await check.read()
    const deadline = performance.now() + SAMPLE_TIMEOUT_MS
    while (!state.done && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CONFIRM_POLL_MS))
      state = await check.read()
    }
    const confirmedAt = performance.now()
    if (!state.done) {
      throw new Error(`${system.label}: the store never had every job completed: ${JSON.stringify(state)}`)
    }
    // let a duplicate delivery show up in the counts before the children stop
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const child of children) child.stdin!.write("stop\n")
    await Promise.all(exited)
    if (finals !== children.length) throw new Error(`${system.label}: a consumer did not report its final count`)
    const final = await check.read()
    if (calls !== jobs) throw new Error(`${system.label}: ${calls} handler calls for ${jobs} jobs`)
    if (
      system.base.startsWith("durable") &&
      (final.counts.total !== jobs || final.counts.okFirstAttempt !== jobs)
    ) throw new Error(`${system.label}: the store is not every job ok at its first attempt: ${JSON.stringify(final)}`)
    return {
      handlersMillis: handlersAt - started,
      endToEndMillis: confirmedAt - started,
      endToEndPerSecond: jobs / ((confirmedAt - started) / 1000),
      handlerCalls: calls,
      consumerCpuMicrosPerJob: cpuMicros / jobs,
      store: final.counts
    }
  } finally {
    for (const child of children) child.kill("SIGKILL")
    await check.close()
  }
}

/** drops what a PostgreSQL sample left: our table, or graphile-worker's rows of that task */
const cleanupPg = async (base: Base, where: string) => {
  const client = await pgClient()
  try {
    if (base === "durable-pg") {
      await client.query(`DROP TABLE IF EXISTS ${where} CASCADE`)
      await client.query(`DROP FUNCTION IF EXISTS ${where}_notify()`)
    } else {
      await client.query(
        `DELETE FROM graphile_worker._private_jobs WHERE task_id IN
          (SELECT id FROM graphile_worker._private_tasks WHERE identifier = $1)`,
        [where]
      )
    }
  } finally {
    await client.end()
  }
}

// ---- the run ----

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const index = args.indexOf(`--${name}`)
  return index === -1 ? undefined : args[index + 1]
}
const options = (name: string): Array<string> => args.flatMap((arg, i) => arg === `--${name}` ? [args[i + 1]] : [])

const main = async () => {
  const jobs = Number(option("jobs") ?? 10_000)
  const rounds = Number(option("rounds") ?? 3)
  if (!(Number.isInteger(rounds) && rounds % 2 === 1)) {
    throw new Error(`--rounds must be odd (a real median), got ${rounds}`)
  }
  const bases = (option("systems")?.split(",") ?? BASES) as Array<Base>
  for (const base of bases) if (!BASES.includes(base)) throw new Error(`unknown system ${base}`)
  const variants = options("variant").map((spec) => {
    const [name, path] = spec.split("=")
    return { name, path: resolve(path) }
  })
  const systems: Array<System> = bases.flatMap((base): Array<System> =>
    base.startsWith("durable") && variants.length > 0
      ? variants.map((v) => ({ label: `${base}[${v.name}]`, base, module: v.path }))
      : [{ label: base, base, module: undefined }]
  )
  const cpuProf = option("cpu-prof")
  if (!args.includes("--no-build")) {
    process.stderr.write("building (npm run build)\n")
    const built = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8" })
    if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`)
  }
  const full = jobs === 10_000 && rounds >= 3 && bases.length === BASES.length && variants.length === 0 &&
    cpuProf === undefined
  const m = machine()
  const stopMonitor = monitorLoad(m)
  const dir = mkdtempSync(join(os.tmpdir(), "durable-bench-"))
  const samples: Array<Sample> = []
  for (let round = 0; round < rounds; round++) {
    // interleaved, the order rotated: drift on the shared machine hits every system alike
    const order = systems.map((_, i) => systems[(i + round) % systems.length])
    for (const system of order) {
      const tag = `bench_${process.pid}_${round}_${system.label.replace(/[^a-z0-9]/gi, "_")}`.toLowerCase()
      const where = system.base === "durable-sqlite" ? join(dir, `${tag}.db`) : tag
      try {
        const enqueueMillis = await enqueue(system, where, jobs)
        const consumed = await consume(system, where, jobs, cpuProf)
        const sample: Sample = {
          round: round + 1,
          system: system.label,
          enqueueMillis,
          enqueuePerSecond: jobs / (enqueueMillis / 1000),
          ...consumed,
          loadAvg1: Math.round(os.loadavg()[0] * 100) / 100
        }
        samples.push(sample)
        process.stderr.write(
          `round ${round + 1} ${system.label}: enqueue ${Math.round(sample.enqueuePerSecond)}/s, end to end ` +
            `${Math.round(sample.endToEndPerSecond)} jobs/s (handlers ${Math.round(sample.handlersMillis)} ms, ` +
            `store ${Math.round(sample.endToEndMillis)} ms), consumers' CPU ` +
            `${sample.consumerCpuMicrosPerJob.toFixed(1)} µs/job, load ${sample.loadAvg1}\n`
        )
      } finally {
        if (system.base === "durable-pg" || system.base === "graphile-worker") await cleanupPg(system.base, where)
      }
    }
  }
  stopMonitor()
  rmSync(dir, { recursive: true, force: true })

  const of = (label: string) => samples.filter((s) => s.system === label)
  const e2e = (label: string) => median(of(label).map((s) => s.endToEndPerSecond))
  /** per-round ratios (both figures from the same round), then their median */
  const ratio = (label: string, base: string) =>
    median(of(label).map((s) => s.endToEndPerSecond / of(base).find((b) => b.round === s.round)!.endToEndPerSecond))
  const has = (label: string) => systems.some((s) => s.label === label)
  const summary = systems.map((system) => {
    const own = of(system.label)
    return {
      system: system.label,
      enqueuePerSecond: median(own.map((s) => s.enqueuePerSecond)),
      endToEndPerSecond: e2e(system.label),
      endToEndMin: Math.min(...own.map((s) => s.endToEndPerSecond)),
      endToEndMax: Math.max(...own.map((s) => s.endToEndPerSecond)),
      consumerCpuMicrosPerJob: median(own.map((s) => s.consumerCpuMicrosPerJob)),
      vsBullmq: has("bullmq") ? ratio(system.label, "bullmq") : undefined,
      vsGraphile: has("graphile-worker") ? ratio(system.label, "graphile-worker") : undefined
    }
  })
  const targets = summary.filter((s) => s.system.startsWith("durable")).flatMap((s) => [
    {
      target: `${s.system} end to end >= 2x BullMQ`,
      value: s.vsBullmq,
      met: s.vsBullmq === undefined ? undefined : s.vsBullmq >= 2
    },
    {
      target: `${s.system} end to end >= 1.0x graphile-worker`,
      value: s.vsGraphile,
      met: s.vsGraphile === undefined ? undefined : s.vsGraphile >= 1
    },
    { target: `${s.system} offerAll >= 100k jobs/s`, value: s.enqueuePerSecond, met: s.enqueuePerSecond >= 100_000 }
  ])
  const saved = {
    benchmark: "durable",
    machine: { ...m, versions: { ...m.versions, ...versions() } },
    setup: { jobs, rounds, processes: PROCESSES, consumersPerProcess: 2, workersPerConsumer: 16 },
    summary,
    targets,
    samples
  }
  const fmt = (x: number | undefined, digits = 0) => x === undefined ? "–" : x.toFixed(digits)
  const md = [
    `${jobs} no-op jobs, ${PROCESSES} processes × 2 consumers × 16 workers; median of ${rounds} rounds ` +
    `(ratios: median of the per-round ratios). ${m.date}, commit ${m.source}, node ${m.node}, ` +
    `${m.cpus} cores (shared), load average ${m.loadAvgStart[0]} at the start, ` +
    `${m.loadDuring?.min}–${m.loadDuring?.max} during (median ${m.loadDuring?.median}).`,
    "",
    "| system | enqueue jobs/s | end to end jobs/s (min–max) | vs BullMQ | vs graphile-worker | consumers' CPU µs/job |",
    "|---|---:|---:|---:|---:|---:|",
    ...summary.map((s) =>
      `| ${s.system} | ${fmt(s.enqueuePerSecond)} | ${fmt(s.endToEndPerSecond)} (${fmt(s.endToEndMin)}–${
        fmt(s.endToEndMax)
      }) | ${fmt(s.vsBullmq, 2)}× | ${fmt(s.vsGraphile, 2)}× | ${fmt(s.consumerCpuMicrosPerJob, 1)} |`
    ),
    "",
    "Consumers' CPU: user + system time of the consumer processes from \"go\" until they are told to stop " +
    "(after the store has every job completed, plus a 200 ms wait), summed over the processes, per job; " +
    "the database's or Redis's own CPU is not in it.",
    "",
    ...targets.map((t) =>
      `- ${t.target}: ${fmt(t.value, t.target.includes("offerAll") ? 0 : 2)} → ${
        t.met === undefined ? "not measured" : t.met ? "met" : "NOT met"
      }`
    )
  ].join("\n")
  const outDir = full ? join(root, "bench/results") : join(root, "bench/results/tmp")
  mkdirSync(outDir, { recursive: true })
  const stamp = full ? "durable" : `durable-${m.date.replace(/[:.]/g, "-")}`
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify(saved, null, 2) + "\n")
  writeFileSync(join(outDir, `${stamp}.md`), md + "\n")
  console.log(`\n${md}\n\nsaved ${join(outDir, stamp)}.{json,md}`)
}

const versions = (): Record<string, string> =>
  Object.fromEntries(
    ["bullmq", "graphile-worker", "pg", "better-sqlite3", "@effect/sql", "@effect/sql-pg", "@effect/sql-sqlite-node"]
      .map((name) => {
        // read from the file: some packages' `exports` do not expose package.json to require
        try {
          return [
            name,
            String(JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version)
          ]
        } catch {
          return [name, "?"]
        }
      })
  )

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

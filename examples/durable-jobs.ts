/**
 * Durable jobs that survive a crash. 1,000 jobs go into a SQLite file (`Durable.layerSqlite`)
 * and a durable consumer works through them with a progress line. Stop it — Ctrl-C, or
 * kill -9 — and start it again: it finishes exactly the jobs that were not done, and says how
 * many it resumed.
 *
 *   npx tsx examples/durable-jobs.ts [--file F] [--jobs n]
 *     the whole story on its own: runs the worker as a child process, stops it with Ctrl-C
 *     (SIGINT) at 30%, starts it again and kills it with kill -9 (SIGKILL) at 60%, starts it a
 *     third time to the end, then checks the store and prints the proof (exit code 0, or 1
 *     if a check fails). A temporary file, removed afterwards, unless --file names a new one.
 *
 *   npx tsx examples/durable-jobs.ts work [--file F] [--jobs n] [--workers n] [--job-ms n] [--fresh]
 *     one worker run, to try by hand: stop it any way you like and run the same command again.
 *     The file defaults to effect-supervisor-durable-jobs.db in the temp directory; --fresh
 *     deletes it first. Ctrl-C hands every unstarted job back at once (exit code 130); after
 *     kill -9 the jobs the dead process held are claimed again once their 3 s lease runs out.
 *
 * Each job takes ~20 ms (a stand-in for a slow call) and returns a checksum of its item. Its
 * side effect is one line appended to F.log when it finishes: `<job id> <item> <pid>`.
 * Delivery is at-least-once: a job that finished in a process killed before its
 * acknowledgement was written runs again, and the log shows it; its completion record (the
 * job's row in the store) is written once. Real handlers make such side effects idempotent
 * with `ctx.id`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { defaultTeardown } from "@effect/platform/Runtime"
import { Cause, Console, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const USAGE = `usage: durable-jobs [--file F] [--jobs n]
       durable-jobs work [--file F] [--jobs n] [--workers n] [--job-ms n] [--fresh]`

const LEASE_SECONDS = 3

/** One job: item `item` of the batch. The idempotency key makes a second offer of it a no-op. */
const Jobs = Durable.queue("durable-jobs", {
  task: Schema.Struct({ item: Schema.Number }),
  success: Schema.String,
  failure: Schema.Never,
  idempotencyKey: (job) => `item-${job.item}`,
  maxAttempts: 5,
  lease: `${LEASE_SECONDS} seconds`
})

const itemsOf = (jobs: number) => Array.from({ length: jobs }, (_, item) => ({ item }))
const checksum = (item: number) => createHash("sha256").update(`item-${item}`).digest("hex").slice(0, 16)
const logOf = (file: string) => `${file}.log`

// ---- arguments ----

interface Args {
  readonly mode: "demo" | "work"
  readonly file: string | undefined
  readonly jobs: number
  readonly workers: number
  readonly jobMillis: number
  readonly fresh: boolean
}

const parseArgs = (argv: ReadonlyArray<string>): Args | string => {
  const mode: Args["mode"] = argv[0] === "work" ? "work" : "demo"
  const args = { mode, file: undefined as string | undefined, jobs: 1000, workers: 4, jobMillis: 20, fresh: false }
  const integer = (name: string, value: string | undefined, min: number) =>
    value !== undefined && /^\d+$/.test(value) && Number(value) >= min
      ? Number(value)
      : `${name} must be an integer >= ${min}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`
  for (let i = mode === "work" ? 1 : 0; i < argv.length; i++) {
    const arg = argv[i]
    const workOnly = ["--workers", "--job-ms", "--fresh"]
    if (mode === "demo" && workOnly.includes(arg)) return `${arg} is an option of \`work\``
    if (arg === "--file") {
      const value = argv[++i]
      if (value === undefined || value === "") return "--file needs a path"
      args.file = value
    } else if (arg === "--jobs" || arg === "--workers" || arg === "--job-ms") {
      const value = integer(arg, argv[++i], arg === "--job-ms" ? 0 : 1)
      if (typeof value === "string") return value
      if (arg === "--jobs") args.jobs = value
      else if (arg === "--workers") args.workers = value
      else args.jobMillis = value
    } else if (arg === "--fresh") {
      args.fresh = true
    } else {
      return `unknown argument ${JSON.stringify(arg)}`
    }
  }
  return args
}

// ---- what the store says ----

interface Census {
  /** ids of the jobs that succeeded */
  readonly done: ReadonlySet<string>
  readonly queued: number
  /** queued jobs under a lease that has not run out: held by a live or a dead process */
  readonly leased: number
  readonly dead: number
  /** no delivery counted yet: never delivered, or handed back by a stop */
  readonly untouched: number
}

const census = (producer: Durable.Producer<{ readonly item: number }, string, never>, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const done = new Set<string>()
    let queued = 0
    let leased = 0
    let dead = 0
    let untouched = 0
    for (const id of ids) {
      const info = yield* producer.status(id)
      if (info.state === "succeeded") done.add(id)
      else if (info.state === "queued") queued++
      else if (info.state === "running") leased++
      else dead++
      if (info.state === "queued" && info.attempts === 0) untouched++
    }
    return { done, queued, leased, dead, untouched } satisfies Census
  })

// ---- one worker run ----

/** Which signal stopped a run: the shell's exit code for it is 128 + its number. */
let signal: "SIGINT" | "SIGTERM" | undefined
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const

const work = (args: Args, file: string) =>
  Effect.gen(function*() {
    const jobs = yield* Durable.producer(Jobs)
    // every run offers the whole batch: the idempotency keys give back the ids already there
    const ids = yield* jobs.offerAll(itemsOf(args.jobs))
    const before = yield* census(jobs, ids)
    const notDone = ids.length - before.done.size
    if (notDone === 0) {
      return yield* Console.log(`all ${ids.length} jobs in ${file} are done already (--fresh starts over)`)
    }
    if (before.untouched === ids.length) {
      yield* Console.log(`${ids.length} jobs queued in ${file}, none done yet: ${args.workers} workers on them`)
    } else {
      const held = before.leased === 0
        ? ""
        : ` (${before.leased} are still leased by an earlier run: if it died, they are claimed again ` +
          `once its ${LEASE_SECONDS} s lease runs out)`
      yield* Console.log(`resumed: ${notDone} of ${ids.length} jobs were not done; finishing them${held}`)
    }
    const started = Date.now()
    const log = logOf(file)
    const consumer = yield* Supervisor.make({
      queue: Jobs,
      workers: args.workers,
      timeout: "30 seconds",
      handler: (job, ctx) =>
        Effect.zipRight(
          Effect.sleep(args.jobMillis),
          Effect.sync(() => {
            appendFileSync(log, `${ctx.id} ${job.item} ${process.pid}\n`)
            return checksum(job.item)
          })
        )
    })
    const progress = yield* Effect.fork(showProgress(consumer, before.done.size, ids.length, started))
    const stopped = Effect.gen(function*() {
      yield* Fiber.interrupt(progress)
      // the same shutdown the scope would run, here so that we can say what it did
      const stats = yield* consumer.shutdownNow
      yield* Console.log(
        `stopped by ${signal ?? "an interrupt"}: ${before.done.size + stats.succeeded} of ${ids.length} jobs done; ` +
          `${stats.handedBack} unstarted or interrupted jobs handed back to the queue at once — run again to finish`
      )
    })
    // the jobs run roughly in id order, so waiting for each in turn costs about one query a job
    yield* Effect.forEach(ids.filter((id) => !before.done.has(id)), (id) => jobs.await(id), { discard: true }).pipe(
      Effect.onInterrupt(() => stopped)
    )
    yield* Fiber.interrupt(progress)
    const after = yield* census(jobs, ids)
    yield* Console.log(
      `finished: ${after.done.size} of ${ids.length} jobs done (${after.done.size - before.done.size} in this run, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s)${after.dead > 0 ? `; ${after.dead} dead letters` : ""}`
    )
    if (after.dead > 0) yield* Effect.sync(() => process.exitCode = 1)
  })

/** A progress line on stderr: redrawn in place on a terminal, one line every 500 ms otherwise. */
const showProgress = (consumer: Durable.Consumer, doneBefore: number, total: number, started: number) => {
  const tty = process.stderr.isTTY === true
  const line = Effect.flatMap(consumer.stats, (stats) =>
    Effect.sync(() => {
      const done = Math.min(total, doneBefore + stats.succeeded + stats.dead)
      const width = 30
      const filled = Math.round((width * done) / total)
      const rate = stats.succeeded / Math.max(0.001, (Date.now() - started) / 1000)
      const text = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} done, ` +
        `${stats.running} running, ${Math.round(rate)} jobs/s`
      process.stderr.write(tty ? `\r${text}\x1b[K` : `progress: ${text}\n`)
    }))
  return Effect.repeat(line, Schedule.spaced(tty ? "100 millis" : "500 millis")).pipe(
    Effect.ensuring(Effect.sync(() => tty && process.stderr.write("\r\x1b[K")))
  )
}

// ---- the whole story, with the worker as a child process ----

interface Run {
  readonly number: number
  readonly pid: number
  /** the signal the run was stopped by, if any */
  readonly stop: "SIGINT" | "SIGKILL" | undefined
  readonly exitCode: number | null
  readonly exitSignal: string | null
  readonly output: ReadonlyArray<string>
  readonly before: Census
  readonly after: Census
}

/** `<job id> <item> <pid>` lines: every time a handler finished */
const readLog = (file: string) =>
  existsSync(logOf(file))
    ? readFileSync(logOf(file), "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const [id, item, pid] = line.split(" ")
      return { id, item: Number(item), pid: Number(pid) }
    })
    : []

/**
 * Runs `work` in a child process, its output shown indented; with `stop`, sends the signal once
 * the log shows `atDone` finished jobs. Bounded: a child still running after 120 s is killed.
 */
const runChild = (number: number, file: string, jobs: number, stop?: { signal: NodeJS.Signals; atDone: number }) =>
  Effect.async<{ pid: number; code: number | null; signal: string | null; output: Array<string> }, Error>(
    (resume) => {
      const self = fileURLToPath(import.meta.url)
      // the loader in this very process, so that the signal reaches the worker itself (the tsx
      // CLI would run it in a grandchild)
      const child = spawn(process.execPath, ["--import", "tsx", self, "work", "--file", file, "--jobs", `${jobs}`], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output: Array<string> = []
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on("line", (line) => {
          output.push(line)
          process.stdout.write(`  [run ${number}] ${line}\n`)
        })
      }
      const watch = stop === undefined ? undefined : setInterval(() => {
        if (new Set(readLog(file).map((entry) => entry.id)).size < stop.atDone) return
        clearInterval(watch)
        process.stdout.write(
          `  (${stop.atDone} jobs finished: sending ${stop.signal} to the worker, pid ${child.pid})\n`
        )
        child.kill(stop.signal)
      }, 10)
      const limit = setTimeout(() => child.kill("SIGKILL"), 120_000)
      child.once("error", (error) => resume(Effect.fail(error)))
      child.once("close", (code, exitSignal) => {
        clearInterval(watch)
        clearTimeout(limit)
        resume(Effect.succeed({ pid: child.pid!, code, signal: exitSignal, output }))
      })
      return Effect.sync(() => child.kill("SIGKILL"))
    }
  )

const demo = (args: Args, file: string) =>
  Effect.gen(function*() {
    yield* Console.log(
      `durable-jobs: ${args.jobs} jobs in ${file} (SQLite, WAL); each job appends ` +
        `"<job id> <item> <pid>" to ${logOf(file)} when it finishes`
    )
    const jobs = yield* Durable.producer(Jobs)
    const ids = yield* jobs.offerAll(itemsOf(args.jobs))
    const plan = [
      { how: "Ctrl-C (SIGINT)", signal: "SIGINT" as const, at: 0.3 },
      { how: "kill -9 (SIGKILL)", signal: "SIGKILL" as const, at: 0.6 },
      undefined
    ]
    const runs: Array<Run> = []
    for (const [index, step] of plan.entries()) {
      const number = index + 1
      const before = yield* census(jobs, ids)
      const atDone = step === undefined ? 0 : Math.ceil(step.at * ids.length)
      yield* Console.log(
        step === undefined
          ? `run ${number}: start the worker again and let it finish`
          : `run ${number}: start the worker${number > 1 ? " again" : ""}; ${step.how} once ${atDone} jobs finished`
      )
      const child = yield* runChild(
        number,
        file,
        args.jobs,
        step === undefined ? undefined : { signal: step.signal, atDone }
      )
      const after = yield* census(jobs, ids)
      yield* Console.log(
        `  store after run ${number}: ${after.done.size} done, ${after.queued} queued, ${after.leased} leased` +
          (step?.signal === "SIGKILL" && after.leased > 0
            ? ` (by the killed process, until its ${LEASE_SECONDS} s lease runs out)`
            : "")
      )
      runs.push({
        number,
        pid: child.pid,
        stop: step?.signal,
        exitCode: child.code,
        exitSignal: child.signal,
        output: child.output,
        before,
        after
      })
    }
    return yield* prove(file, ids, runs)
  })

/** Checks what the runs did against the store and the log; prints each check. */
const prove = (file: string, ids: ReadonlyArray<string>, runs: ReadonlyArray<Run>) =>
  Effect.gen(function*() {
    const jobs = yield* Durable.producer(Jobs)
    const log = readLog(file)
    const checks: Array<readonly [boolean, string]> = []
    const check = (ok: boolean, what: string) => checks.push([ok, what])
    const last = runs[runs.length - 1]

    const infos = yield* Effect.forEach(ids, (id) => jobs.status(id))
    const wrong = infos.filter((info, item) => info.state !== "succeeded" || info.result !== checksum(item))
    check(
      wrong.length === 0,
      `one completion record per job: all ${ids.length} jobs succeeded, each with its own result` +
        (wrong.length === 0 ? "" : ` — not so for ${wrong.map((info) => `${info.id} (${info.state})`).join(", ")}`)
    )
    const known = new Set(ids)
    const strays = log.filter((entry) => !known.has(entry.id))
    check(
      strays.length === 0 && log.every((entry) => ids[entry.item] === entry.id),
      `offering the batch again at every start made no new jobs (every run worked on the same ${ids.length} ids)`
    )
    for (const run of runs) {
      const ran = new Set(log.filter((entry) => entry.pid === run.pid).map((entry) => entry.id))
      const again = [...ran].filter((id) => run.before.done.has(id))
      check(again.length === 0, `run ${run.number} ran no job that was done before it started (it ran ${ran.size})`)
      if (run.number > 1) {
        const resumed = run.output.map((line) => /^resumed: (\d+) of (\d+) /.exec(line)).find((match) => match !== null)
        const notDone = ids.length - run.before.done.size
        check(
          resumed !== undefined && Number(resumed[1]) === notDone,
          `run ${run.number} said "resumed: ${resumed?.[1] ?? "?"} of ${ids.length}": ${notDone} were not done`
        )
      }
      if (run.stop === "SIGINT") {
        check(
          run.exitCode === 130 && run.after.leased === 0,
          `Ctrl-C stopped run ${run.number} cleanly (exit code ${run.exitCode}) and handed every job it held back ` +
            `at once: ${run.after.leased} left leased`
        )
      }
      if (run.stop === "SIGKILL") {
        check(run.exitSignal === "SIGKILL", `run ${run.number} died of kill -9 (${run.exitSignal ?? "it exited"})`)
      }
    }
    const lastRan = new Set(log.filter((entry) => entry.pid === last.pid).map((entry) => entry.id))
    const notDoneBefore = ids.filter((id) => !last.before.done.has(id))
    check(
      last.exitCode === 0 && lastRan.size === notDoneBefore.length && notDoneBefore.every((id) => lastRan.has(id)),
      `the last run (exit code ${last.exitCode}) finished exactly the ${notDoneBefore.length} jobs that were not done`
    )
    // at-least-once: a job runs again only if a run that was stopped finished it without
    // writing its acknowledgement
    const runsOf = new Map<string, Array<number>>()
    for (const entry of log) runsOf.set(entry.id, [...(runsOf.get(entry.id) ?? []), entry.pid])
    const twice = [...runsOf].filter(([, pids]) => pids.length > 1)
    const byPid = new Map(runs.map((run) => [run.pid, run]))
    const explained = twice.every(([id, pids]) =>
      pids.slice(0, -1).every((pid) => {
        const run = byPid.get(pid)
        return run !== undefined && run.stop !== undefined && !run.after.done.has(id)
      })
    )
    check(
      explained,
      twice.length === 0
        ? "no job ran twice"
        : `${twice.length} jobs ran twice, each first in a run that was stopped after it finished them but before ` +
          `their acknowledgement was written (at-least-once: their completion record is still one)`
    )
    yield* Console.log("proof:")
    for (const [ok, what] of checks) yield* Console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`)
    const failed = checks.filter(([ok]) => !ok).length
    yield* Console.log(
      failed > 0
        ? `${failed} checks failed`
        : twice.length === 0
        ? "every job ran and was recorded done exactly once"
        : "every job was recorded done exactly once (and ran at least once)"
    )
    if (failed > 0) yield* Effect.sync(() => process.exitCode = 1)
  })

// ---- main ----

const removeStore = (file: string) => {
  for (const path of [file, `${file}-wal`, `${file}-shm`, logOf(file)]) rmSync(path, { force: true })
}

const main = (args: Args): Effect.Effect<void, unknown> => {
  if (args.mode === "work") {
    const file = args.file ?? join(tmpdir(), "effect-supervisor-durable-jobs.db")
    if (args.fresh) removeStore(file)
    return Effect.scoped(work(args, file)).pipe(Effect.provide(Durable.layerSqlite({ file })))
  }
  if (args.file !== undefined) {
    const file = args.file
    return demo(args, file).pipe(
      Effect.provide(Durable.layerSqlite({ file })),
      Effect.zipRight(Console.log(`kept ${file} and ${logOf(file)}`))
    )
  }
  return Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "durable-jobs-"))),
    (dir) => demo(args, join(dir, "jobs.db")).pipe(Effect.provide(Durable.layerSqlite({ file: join(dir, "jobs.db") }))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
}

const args = parseArgs(process.argv.slice(2))
if (typeof args === "string") {
  process.stderr.write(`durable-jobs: ${args}\n${USAGE}\n`)
  process.exitCode = 2
} else if (args.mode === "demo" && args.file !== undefined && [args.file, logOf(args.file)].some(existsSync)) {
  // the story's checks count from an empty store and an empty log
  process.stderr.write(`durable-jobs: ${args.file} exists; the demo needs a new file (or use \`work --file\`)\n`)
  process.exitCode = 2
} else {
  // NodeRuntime.runMain interrupts the program on both; these only remember which one came
  for (const name of ["SIGINT", "SIGTERM"] as const) process.once(name, () => signal ??= name)
  NodeRuntime.runMain(main(args), {
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
        ? onExit(EXIT_CODES[signal ?? "SIGINT"])
        : defaultTeardown(exit, onExit)
  })
}

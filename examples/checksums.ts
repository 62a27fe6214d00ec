/**
 * SHA-256 of every file under a directory, hashed on worker threads under a supervisor.
 *
 *   npm run demo -- [dir] [--threads n] [--skip name,...] [--progress]
 *   npx tsx examples/checksums.ts [dir] [...]     (the same from source, slower to start)
 *
 * `npm run demo` builds the package and bundles this file and its worker into
 * build/demo/*.mjs (scripts/build-demo.mjs), then runs the bundle with node: start-up is
 * most of a run over a few thousand files, and a bundle starts ~4× faster than tsx.
 *
 * Prints `<hex>  <path>` lines sorted by path, like `sha256sum` (so `sha256sum -c` can check
 * them), on stdout; progress (the directory scan, then files, bytes, rate, ETA) on stderr when
 * it is a terminal or with `--progress`, and a summary line. A directory given is hashed
 * whole; `--skip node_modules,.git` leaves out entries with those names. With no directory it
 * hashes this repository without node_modules, .git, dist and build. Symbolic links are not
 * followed. Bad arguments print the usage (exit code 2); a directory that does not exist is
 * reported before any thread starts (exit code 1); unreadable files are reported (exit code
 * 1). Ctrl-C / SIGTERM stop cleanly: in-flight files finish or are interrupted within grace,
 * the partial result and summary are printed, the exit code is 130 / 143, like a shell.
 */
// Deep imports, not the "effect" / "@effect/platform-node" barrels: a barrel loads every
// module of its package, which under tsx costs ~1 s of start-up here (measured: 2.6 s → 1.65 s).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { defaultTeardown } from "@effect/platform/Runtime"
import { Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Dirent } from "node:fs"
import { readdirSync, statSync } from "node:fs"
import * as os from "node:os"
import { join, relative, resolve, sep } from "node:path"
import { setImmediate } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { HashFiles } from "./checksums/requests.js"

/** Run from build/demo/checksums.mjs (`npm run demo`) rather than from this source file. */
const bundled = !import.meta.url.endsWith(".ts")
/** The worker file next to this one: checksums/worker.ts from source, .mjs in the bundle. */
const workerFile = new URL(bundled ? "./checksums/worker.mjs" : "./checksums/worker.ts", import.meta.url)

const USAGE = "usage: checksums [dir] [--threads n] [--skip name,...] [--progress]"

interface Args {
  readonly root: string
  readonly threads: number
  readonly skip: ReadonlySet<string>
  readonly progress: boolean
}

/** The arguments, or what is wrong with them. */
const parseArgs = (argv: ReadonlyArray<string>): Args | string => {
  let root: string | undefined
  let threads = os.availableParallelism()
  let skip: ReadonlySet<string> | undefined
  let progress = process.stderr.isTTY === true
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--threads") {
      const value = argv[++i]
      threads = Number(value)
      if (value === undefined || !/^\d+$/.test(value) || threads < 1) {
        return `--threads must be an integer >= 1, got ${value === undefined ? "nothing" : JSON.stringify(value)}`
      }
    } else if (arg === "--skip") {
      const value = argv[++i]
      if (value === undefined || value === "") return "--skip needs a comma-separated list of names"
      skip = new Set(value.split(","))
    } else if (arg === "--progress") {
      progress = true
    } else if (arg.startsWith("-")) {
      return `unknown option ${arg}`
    } else if (root !== undefined) {
      return `one directory only, got ${JSON.stringify(root)} and ${JSON.stringify(arg)}`
    } else {
      root = arg
    }
  }
  return root === undefined
    ? {
      root: fileURLToPath(new URL(bundled ? "../.." : "..", import.meta.url)),
      threads,
      skip: skip ?? new Set(["node_modules", ".git", "dist", "build"]),
      progress
    }
    : { root: resolve(root), threads, skip: skip ?? new Set(), progress }
}

interface Found {
  readonly files: Array<{ readonly path: string; readonly size: number }>
  readonly unreadable: Array<string>
  bytes: number
}

/**
 * Every regular file under `root` (leaving out entries named in `skip`), with its size.
 * Synchronous calls, with a yield to the event loop every few hundred entries: awaiting a
 * `readdir`/`stat` promise per entry took ~330 ms on /usr/share/doc (4,380 files), a
 * synchronous `readdir` walk ~50 ms; the yields keep the progress line and Ctrl-C responsive.
 */
const walk = (root: string, skip: ReadonlySet<string>, found: Found): Effect.Effect<void> =>
  Effect.promise(async (signal) => {
    let sinceYield = 0
    const visit = async (dir: string): Promise<void> => {
      let entries: Array<Dirent>
      try {
        entries = readdirSync(dir, { withFileTypes: true })
      } catch (error) {
        found.unreadable.push(`${relative(root, dir) || "."}: ${(error as Error).message}`)
        return
      }
      for (const entry of entries) {
        if (signal.aborted) return
        if (++sinceYield === 512) {
          sinceYield = 0
          await setImmediate()
        }
        if (skip.has(entry.name)) continue
        const path = join(dir, entry.name)
        if (entry.isDirectory()) {
          await visit(path)
        } else if (entry.isFile()) {
          const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0
          found.files.push({ path, size })
          found.bytes += size
        }
      }
    }
    await visit(root)
  })

/**
 * A line as `sha256sum` prints it: a name with a backslash, newline or carriage return has
 * them escaped (`\\`, `\n`, `\r`) and the line starts with a backslash, so `sha256sum -c`
 * reads it back.
 */
const checksumLine = (hex: string, path: string): string =>
  /[\\\n\r]/.test(path)
    ? `\\${hex}  ${path.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")}\n`
    : `${hex}  ${path}\n`

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/** The hashes so far, by path; bytes hashed; files that could not be read. */
interface State {
  readonly hashes: Map<string, string>
  readonly unreadable: Array<string>
  bytes: number
}

/**
 * Files go to the threads in chunks (one message each, see checksums/worker.ts): up to 64
 * files or 16 MB, and small enough that there are several chunks per thread to share out.
 */
const chunksOf = (files: Found["files"], threads: number): Array<HashFiles> => {
  const maxFiles = Math.max(1, Math.min(64, Math.ceil(files.length / (threads * 8))))
  const chunks: Array<HashFiles> = []
  let paths: Array<string> = []
  let bytes = 0
  for (const file of files) {
    if (paths.length === maxFiles || (paths.length > 0 && bytes + file.size > 16e6)) {
      chunks.push(new HashFiles({ paths }))
      paths = []
      bytes = 0
    }
    paths.push(file.path)
    bytes += file.size
  }
  if (paths.length > 0) chunks.push(new HashFiles({ paths }))
  return chunks
}

const program = (args: Args) =>
  Effect.gen(function*() {
    const { progress: showProgress, root, skip, threads } = args
    const started = Date.now()
    // made first: the threads start (load their modules) while the tree is walked
    const supervisor = yield* Supervisor.make({
      workers: threads,
      ...Threads.offload({ file: workerFile, schema: HashFiles }),
      initial: { hashes: new Map(), unreadable: [], bytes: 0 } as State,
      combine: (state: State, results) => {
        for (const result of results) {
          if (result._tag === "Hashed") {
            state.hashes.set(result.path, result.hex)
            state.bytes += result.bytes
          } else {
            state.unreadable.push(`${relative(root, result.path)}: ${result.message}`)
          }
        }
        return state
      }
    })
    const found: Found = { files: [], unreadable: [], bytes: 0 }
    const scanning = Effect.sync(() =>
      process.stderr.write(`\rscanning: ${found.files.length} files, ${megabytes(found.bytes)}\x1b[K`)
    )
    yield* withProgress(showProgress, Effect.repeat(scanning, Schedule.spaced("100 millis")), walk(root, skip, found))
    const { files, unreadable } = found
    const totalBytes = found.bytes

    /** Prints the hashes and the summary; `failedChunks`: chunks whose thread failed them. */
    const report = (interrupted: boolean, failedChunks: ReadonlyArray<HashFiles>) =>
      Effect.gen(function*() {
        const state = yield* supervisor.state
        const lines = Array.from(state.hashes, ([path, hex]) => [relative(root, path).split(sep).join("/"), hex])
          .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
        yield* Effect.sync(() => process.stdout.write(lines.map(([path, hex]) => checksumLine(hex!, path!)).join("")))
        for (const problem of [...unreadable, ...state.unreadable]) yield* Console.error(`unreadable: ${problem}`)
        const failedFiles = failedChunks.reduce((sum, chunk) => sum + chunk.paths.length, 0)
        const failed = failedFiles + unreadable.length + state.unreadable.length
        yield* Console.error(
          `${interrupted ? "interrupted: " : ""}hashed ${state.hashes.size} of ${files.length} files ` +
            `(${megabytes(state.bytes)}) in ${seconds(Date.now() - started)} on ${threads} ` +
            `${threads === 1 ? "thread" : "threads"}, ${failed} failed`
        )
        return failed
      })

    const chunks = chunksOf(files, threads)
    /** The bar, redrawn for each progress snapshot: chunks done drive the fill and the ETA. */
    const bar = (progress: Supervisor.Progress) =>
      Effect.gen(function*() {
        const state = yield* supervisor.state
        const done = state.hashes.size + state.unreadable.length
        const rate = state.bytes / Math.max(Duration.toSeconds(progress.elapsed), 0.001)
        const eta = Option.match(progress.eta, {
          onNone: () => "?",
          onSome: (d) => `${Duration.toSeconds(d).toFixed(0)}s`
        })
        const width = 30
        const filled = Math.round((width * progress.done) / Math.max(progress.total, 1))
        process.stderr.write(
          `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${files.length} files ` +
            `${megabytes(state.bytes)}/${megabytes(totalBytes)} ${megabytes(rate)}/s ETA ${eta}\x1b[K`
        )
      })

    const summary = yield* withProgress(
      showProgress,
      // snapshots at most every 100 ms while chunks finish; the stream ends with the batch
      Effect.orDie(Stream.runForEach(supervisor.progress({ total: chunks.length, every: "100 millis" }), bar)),
      Effect.zipRight(supervisor.submitAll(chunks), supervisor.shutdown)
    ).pipe(Effect.onInterrupt(() => report(true, [])))
    // a chunk fails as a whole only when its thread does (crashed, or the request was refused)
    for (const failure of summary.failures) {
      const reason = failure._tag === "Failure" ? String(failure.error.message) : String(failure.defect)
      for (const path of failure.task.paths) yield* Console.error(`failed: ${relative(root, path)}: ${reason}`)
    }
    const failed = yield* report(false, summary.failures.map((failure) => failure.task))
    if (failed > 0) yield* Effect.sync(() => process.exitCode = 1)
  })

/** Runs `self` while `draw` redraws a line on stderr (when shown); the line is cleared at the end. */
const withProgress = <A, E, R>(show: boolean, draw: Effect.Effect<unknown>, self: Effect.Effect<A, E, R>) =>
  show
    ? Effect.flatMap(Effect.fork(draw), (fiber) =>
      Effect.ensuring(
        self,
        Effect.zipRight(Fiber.interrupt(fiber), Effect.sync(() => process.stderr.write("\r\x1b[K")))
      ))
    : self

/** Which signal stopped us: the shell's exit code for it is 128 + its number. */
let signal: "SIGINT" | "SIGTERM" | undefined
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const

const args = parseArgs(process.argv.slice(2))
if (typeof args === "string") {
  process.stderr.write(`checksums: ${args}\n${USAGE}\n`)
  process.exitCode = 2
} else if (!statSync(args.root, { throwIfNoEntry: false })?.isDirectory()) {
  // checked before anything starts: no thread is spawned for a directory that is not there
  process.stderr.write(`checksums: ${args.root}: no such directory\n`)
  process.exitCode = 1
} else {
  // NodeRuntime.runMain interrupts the program on both; these only remember which one came
  for (const name of ["SIGINT", "SIGTERM"] as const) process.once(name, () => signal ??= name)
  NodeRuntime.runMain(Effect.scoped(program(args)), {
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
        ? onExit(EXIT_CODES[signal ?? "SIGINT"])
        : defaultTeardown(exit, onExit)
  })
}

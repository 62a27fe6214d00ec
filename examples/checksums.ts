/**
 * SHA-256 of every file under a directory, hashed on worker threads under a supervisor.
 *
 *   npx tsx examples/checksums.ts [dir] [--threads n]
 *
 * Prints `<hex>  <path>` lines sorted by path, like `sha256sum` (so `sha256sum -c` can check
 * them), on stdout; a live progress bar (files, bytes, rate, ETA) on stderr when it is a
 * terminal, and a summary line. The default directory is this repository (node_modules, .git
 * and dist skipped); symbolic links are not followed. Unreadable files are reported and the
 * exit code is 1. Ctrl-C / SIGTERM stop cleanly: in-flight files finish or are interrupted
 * within grace, the partial result and summary are printed, the exit code is 130.
 */
import { NodeRuntime } from "@effect/platform-node"
import { defaultTeardown } from "@effect/platform/Runtime"
import { Cause, Console, Effect, Exit, Fiber, Schedule } from "effect"
import { Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
import type { Dirent } from "node:fs"
import { readdir, stat } from "node:fs/promises"
import * as os from "node:os"
import { join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { HashFile } from "./checksums/requests.js"

const SKIP = new Set(["node_modules", ".git", "dist"])

interface Args {
  readonly root: string
  readonly threads: number
}

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  let root = fileURLToPath(new URL("..", import.meta.url))
  let threads = os.availableParallelism()
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--threads") threads = Number(argv[++i])
    else root = argv[i]!
  }
  return { root: resolve(root), threads }
}

interface Found {
  readonly files: Array<{ readonly path: string; readonly size: number }>
  readonly unreadable: Array<string>
}

/** Every regular file under `root` (skipping SKIP), with its size. */
const walk = (root: string): Effect.Effect<Found> =>
  Effect.promise(async () => {
    const found: Found = { files: [], unreadable: [] }
    const visit = async (dir: string): Promise<void> => {
      let entries: Array<Dirent>
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (error) {
        found.unreadable.push(`${relative(root, dir) || "."}: ${(error as Error).message}`)
        return
      }
      for (const entry of entries) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) {
          if (!SKIP.has(entry.name)) await visit(path)
        } else if (entry.isFile()) {
          const size = await stat(path).then((s) => s.size, () => 0)
          found.files.push({ path, size })
        }
      }
    }
    await visit(root)
    return found
  })

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/** The hashes so far, by path; bytes hashed. */
interface State {
  readonly hashes: Map<string, string>
  bytes: number
}

const program = Effect.gen(function*() {
  const { root, threads } = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const { files, unreadable } = yield* walk(root)
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0)
  const workers = Math.max(1, Math.min(threads, files.length))
  const supervisor = yield* Supervisor.make({
    workers,
    ...Threads.offload({ file: new URL("./checksums/worker.ts", import.meta.url), schema: HashFile }),
    initial: { hashes: new Map(), bytes: 0 } as State,
    combine: (state: State, result, task) => {
      state.hashes.set(task.path, result.hex)
      state.bytes += result.bytes
      return state
    }
  })

  const report = (interrupted: boolean) =>
    Effect.gen(function*() {
      const state = yield* supervisor.state
      const stats = yield* supervisor.stats
      const lines = Array.from(state.hashes, ([path, hex]) => [relative(root, path).split(sep).join("/"), hex])
        .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
      yield* Effect.sync(() => process.stdout.write(lines.map(([path, hex]) => `${hex}  ${path}\n`).join("")))
      for (const problem of unreadable) yield* Console.error(`unreadable: ${problem}`)
      const failed = stats.failed + stats.defects + unreadable.length
      yield* Console.error(
        `${interrupted ? "interrupted: " : ""}hashed ${state.hashes.size} of ${files.length} files ` +
          `(${megabytes(state.bytes)}) in ${seconds(Date.now() - started)} on ${workers} threads, ${failed} failed`
      )
      return failed
    })

  const hashing = Date.now()
  const progress = Effect.gen(function*() {
    const state = yield* supervisor.state
    const stats = yield* supervisor.stats
    const done = stats.succeeded + stats.failed + stats.defects
    const elapsed = (Date.now() - hashing) / 1000
    const rate = state.bytes / Math.max(elapsed, 0.001)
    const eta = rate > 0 ? (totalBytes - state.bytes) / rate : 0
    const width = 30
    const filled = Math.round((width * state.bytes) / Math.max(totalBytes, 1))
    process.stderr.write(
      `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${files.length} files ` +
        `${megabytes(state.bytes)}/${megabytes(totalBytes)} ${megabytes(rate)}/s ETA ${eta.toFixed(0)}s\x1b[K`
    )
  })
  const bar = process.stderr.isTTY
    ? yield* Effect.fork(Effect.repeat(progress, Schedule.spaced("100 millis")))
    : undefined
  const clearBar = bar === undefined
    ? Effect.void
    : Effect.zipRight(Fiber.interrupt(bar), Effect.sync(() => process.stderr.write("\r\x1b[K")))

  const summary = yield* Effect.gen(function*() {
    yield* supervisor.submitAll(files.map((file) => new HashFile({ path: file.path })))
    return yield* supervisor.shutdown
  }).pipe(Effect.onInterrupt(() => clearBar.pipe(Effect.zipRight(report(true)))))
  yield* clearBar
  for (const failure of summary.failures) {
    const reason = failure._tag === "Failure" ? String(failure.error.message) : String(failure.defect)
    yield* Console.error(`failed: ${relative(root, failure.task.path)}: ${reason}`)
  }
  const failed = yield* report(false)
  if (failed > 0) yield* Effect.sync(() => process.exitCode = 1)
})

NodeRuntime.runMain(Effect.scoped(program), {
  // interrupted by Ctrl-C / SIGTERM: exit code 130, like a shell
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? onExit(130) : defaultTeardown(exit, onExit)
})

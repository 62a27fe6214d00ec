// examples/durable-jobs.ts, run as CI runs it. Real time throughout: the subject is real
// processes (a worker stopped with SIGINT, then SIGKILL, then restarted) over a real SQLite
// file, so every run is bounded by a wall-clock limit instead of the TestClock.
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Durable } from "effect-supervisor/durable"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { removeDir, tempDir } from "./durable/backends.js"

const entry = fileURLToPath(new URL("../examples/durable-jobs.ts", import.meta.url))

/** Runs the example; a run still going after `within` ms is killed, and the test fails on its code. */
const example = (args: ReadonlyArray<string>, within: number) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    // real time on purpose: a bound on a real child process, so a hang fails instead of stalling
    const limit = setTimeout(() => child.kill("SIGKILL"), within)
    child.stdout.on("data", (data) => stdout += data)
    child.stderr.on("data", (data) => stderr += data)
    child.on("close", (code) => {
      clearTimeout(limit)
      resume(Effect.succeed({ code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const dir = tempDir()
afterAll(() => removeDir(dir))

describe("examples/durable-jobs.ts", () => {
  it.live("with no arguments: Ctrl-C, kill -9, restart — and the proof holds", () =>
    Effect.gen(function*() {
      const run = yield* example([], 120_000)
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      const out = run.stdout
      const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1])
      const doneAfter1 = number(/store after run 1: (\d+) done, \d+ queued, 0 leased/)
      const doneAfter2 = number(/store after run 2: (\d+) done/)
      // each restart announces what the store had left
      expect(number(/\[run 2\] resumed: (\d+) of 1000 jobs were not done/)).toBe(1000 - doneAfter1)
      expect(number(/\[run 3\] resumed: (\d+) of 1000 jobs were not done/)).toBe(1000 - doneAfter2)
      expect(doneAfter1).toBeGreaterThanOrEqual(300)
      // kill -9 came once 600 handlers had finished: those whose batched acknowledgement was not
      // yet written are not done in the store (the proof below checks each of them ran again)
      expect(doneAfter2).toBeGreaterThan(doneAfter1)
      expect(doneAfter2).toBeLessThan(1000)
      expect(out).toContain("[run 1] stopped by SIGINT: ")
      expect(out).toContain("store after run 3: 1000 done, 0 queued, 0 leased")
      expect(out).toContain(
        `the last run (exit code 0) finished exactly the ${1000 - doneAfter2} jobs that were not done`
      )
      const proof = out.slice(out.indexOf("proof:\n"))
      expect(proof.split("\n").filter((line) => line.startsWith("  ")).every((line) => line.startsWith("  ok "))).toBe(
        true
      )
      expect(proof).not.toContain("FAIL")
      expect(proof).toMatch(/\nevery job (ran and )?was recorded done exactly once/)
    }), 150_000)

  it.live(
    "by hand: a run in a given file, a second that finds it done, --fresh starts over",
    () =>
      Effect.gen(function*() {
        const file = join(dir, "by-hand.db")
        const args = ["work", "--file", file, "--jobs", "200", "--workers", "8", "--job-ms", "1"]
        const first = yield* example(args, 60_000)
        expect(first.code).toBe(0)
        expect(first.stdout).toContain(`200 jobs queued in ${file}, none done yet: 8 workers on them\n`)
        expect(first.stdout).toMatch(/finished: 200 of 200 jobs done \(200 in this run, /)
        expect(first.stderr).toMatch(/progress: \[/)
        // the store says so too, read by another process with the same queue definition
        const states = yield* Effect.gen(function*() {
          const store = yield* Durable.Store
          return yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => `${i + 1}`),
            (id) => Effect.map(store.get("durable-jobs", id), (row) => row?.status)
          )
        }).pipe(Effect.provide(Durable.layerSqlite({ file })))
        expect(states).toEqual(Array(200).fill(1))
        const log = readFileSync(`${file}.log`, "utf8").trim().split("\n")
        expect(new Set(log.map((line) => line.split(" ")[0])).size).toBe(200)
        const again = yield* example(args, 60_000)
        expect(again.code).toBe(0)
        expect(again.stdout).toBe(`all 200 jobs in ${file} are done already (--fresh starts over)\n`)
        const fresh = yield* example([...args, "--fresh"], 60_000)
        expect(fresh.code).toBe(0)
        expect(fresh.stdout).toContain(`200 jobs queued in ${file}, none done yet`)
      }),
    150_000
  )

  it.live("bad arguments print the usage and exit 2; the demo refuses a file that exists", () =>
    Effect.gen(function*() {
      const bad = yield* example(["--jobs", "0"], 30_000)
      expect(bad.code).toBe(2)
      expect(bad.stderr).toBe(
        "durable-jobs: --jobs must be an integer >= 1, got \"0\"\n" +
          "usage: durable-jobs [--file F] [--jobs n]\n" +
          "       durable-jobs work [--file F] [--jobs n] [--workers n] [--job-ms n] [--fresh]\n"
      )
      const exists = yield* example(["--file", entry], 30_000)
      expect(exists.code).toBe(2)
      expect(exists.stderr).toContain("exists; the demo needs a new file")
    }))
})

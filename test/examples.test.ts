// The seed programs in examples/, run as a user runs them: each in its own child process,
// which takes real time (so it.live, and a bound that kills a hung child).
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** The lines the example prints on stdout; fails on a non-zero exit, stderr output or a hang (20 s). */
const runExample = (file: string, ...args: ReadonlyArray<string>) =>
  Effect.async<ReadonlyArray<string>, Error>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", `examples/${file}`, ...args],
      { cwd: root, timeout: 20_000 },
      (error, stdout, stderr) =>
        resume(
          error !== null
            ? Effect.fail(error)
            : stderr !== ""
            ? Effect.fail(new Error(`stderr: ${stderr}`))
            : Effect.succeed(stdout.split("\n").slice(0, -1))
        )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const byNumber = (a: number, b: number) => a - b
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe("examples/double.ts", () => {
  it.live("each worker reports its task as it finishes; every result is received once", () =>
    Effect.gen(function*() {
      const lines = yield* runExample("double.ts")
      expect(lines).toHaveLength(20)
      const processed = lines.flatMap((line, at) => {
        const match = /^Worker ([123]) processed task (\d+): (\d+) -> (\d+)$/.exec(line)
        return match === null ? [] : [{ at, id: Number(match[2]), payload: Number(match[3]), value: Number(match[4]) }]
      })
      const received = lines.flatMap((line, at) => {
        const match = /^Received result for task (\d+): (\d+)$/.exec(line)
        return match === null ? [] : [{ at, id: Number(match[1]), line }]
      })
      expect(processed.length + received.length).toBe(20)
      expect([...processed].sort((a, b) => a.id - b.id).map(({ id, payload, value }) => [id, payload, value])).toEqual(
        oneTo(10).map((i) => [i, i, 2 * i])
      )
      expect([...received].sort((a, b) => a.id - b.id).map(({ line }) => line)).toEqual(
        oneTo(10).map((i) => `Received result for task ${i}: ${2 * i}`)
      )
      // a result is received only after its worker processed it
      for (const { at, id } of received) {
        expect(processed.find((p) => p.id === id)!.at).toBeLessThan(at)
      }
    }))
})

describe("examples/sum-of-squares.ts", () => {
  it.live("prints the sum and nothing else", () =>
    Effect.gen(function*() {
      expect(yield* runExample("sum-of-squares.ts")).toEqual(["Sum of squares: 338350"])
    }))

  it.live("--verbose: one line per job from one of the 5 workers, then the sum", () =>
    Effect.gen(function*() {
      const lines = yield* runExample("sum-of-squares.ts", "--verbose")
      expect(lines).toHaveLength(101)
      expect(lines[100]).toBe("Sum of squares: 338350")
      const jobs = lines.slice(0, 100).map((line) => {
        const match = /^Worker ([1-5]) processed job (\d+): (\d+) -> (\d+)$/.exec(line)
        expect(match, line).not.toBeNull()
        const [, , id, n, squared] = match!.map(Number)
        expect([n, squared]).toEqual([id, id! * id!])
        return id!
      })
      expect(jobs.sort(byNumber)).toEqual(oneTo(100))
    }))
})

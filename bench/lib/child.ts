/**
 * Child-process side of the protocol: how big to run, where to log, where to write results.
 */
import { writeFileSync } from "node:fs"
import type { Counts } from "./interleave.js"
import type { FamilyResult, Mode } from "./protocol.js"
import { modeFromEnv } from "./protocol.js"

export const mode: Mode = modeFromEnv()

/** Warm-up and counted rounds: the issue asks for >= 7 counted repetitions in full mode. */
export const counts: Counts = mode === "quick" ? { warmup: 1, reps: 2 } : { warmup: 2, reps: 7 }

/** Progress goes to stderr so the orchestrator can show it live and keep stdout free. */
export const log = (line: string): void => {
  process.stderr.write(`  ${line}\n`)
}

export const writeResult = (result: FamilyResult): void => {
  const out = process.env.BENCH_OUT
  if (out === undefined) throw new Error("BENCH_OUT is not set: run scenarios through bench/run.ts")
  writeFileSync(out, JSON.stringify(result))
}

/** Throws when an alternative computed the wrong answer: a fast wrong result is no result. */
export const expectEqual = (name: string, actual: unknown, expected: unknown): void => {
  if (actual !== expected) throw new Error(`${name}: expected ${String(expected)}, got ${String(actual)}`)
}

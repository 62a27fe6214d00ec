/**
 * The sample-process side: read the request, run the alternative (after an optional in-process
 * warm-up), check its answer, write what was measured. A wrong answer or a throw exits non-zero,
 * which the orchestrator reports as a failure: a fast wrong result is no result.
 */
import { writeFileSync } from "node:fs"
import type { Sample, SampleRequest } from "./protocol.js"

export type Params = SampleRequest["params"]

export const num = (params: Params, key: string): number => {
  const value = Number(params[key])
  if (!Number.isFinite(value)) throw new Error(`parameter ${key} is missing or not a number: ${String(params[key])}`)
  return value
}

export const str = (params: Params, key: string): string => {
  const value = params[key]
  if (typeof value !== "string") throw new Error(`parameter ${key} is missing`)
  return value
}

/** Throws when an alternative computed the wrong answer. */
export const expectEqual = (name: string, actual: unknown, expected: unknown): void => {
  if (actual !== expected) throw new Error(`${name}: expected ${String(expected)}, got ${String(actual)}`)
}

export const request = (): SampleRequest => JSON.parse(process.argv[2] ?? "{}") as SampleRequest

const collect = (): void => (globalThis as { gc?: () => void }).gc?.()

const MB = 2 ** 20

/** Peak RSS of this process so far (kernel's maxrss, so a peak between samples is not missed). */
export const peakRssMB = (): number => (process.resourceUsage().maxRSS * 1024) / MB

/**
 * Times `run` (wall and CPU); a full GC first (unless `fullGc` is false) so a previous phase's
 * garbage is not billed. The GC has a price of its own: V8 optimises the hot code again after
 * it (`--trace-opt`), inside the timed run.
 */
export const timed = async (run: () => Promise<void>, fullGc = true): Promise<Sample> => {
  if (fullGc) collect()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run()
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMB: peakRssMB() }
}

export const writeSample = (sample: Sample): void => {
  const out = process.env.BENCH_OUT
  if (out === undefined) throw new Error("BENCH_OUT is not set: run samples through bench/run.ts")
  writeFileSync(out, JSON.stringify(sample))
}

/**
 * Runs the named alternative of `alternatives` with the request's parameters and exits.
 * `exit` rather than waiting for the event loop to drain: a pool that keeps a handle open must
 * not hang the harness (the orchestrator also has a timeout per sample).
 */
export const main = async (
  alternatives: Readonly<Record<string, (params: Params) => Promise<Sample>>>
): Promise<never> => {
  const { alt, params } = request()
  const run = alternatives[alt]
  if (run === undefined) throw new Error(`unknown alternative ${alt}`)
  writeSample(await run(params))
  process.exit(0)
}

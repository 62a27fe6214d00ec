/** Where and when the figures came from: absolute numbers mean little without it. */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"

export interface Machine {
  readonly date: string
  readonly node: string
  readonly platform: string
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGB: number
  readonly loadAvgStart: ReadonlyArray<number>
  loadAvgEnd: ReadonlyArray<number>
  /** The 1-minute load average sampled every few seconds during the run: min, median, max. */
  loadDuring: { readonly min: number; readonly median: number; readonly max: number } | undefined
  readonly versions: Readonly<Record<string, string>>
  /** The commit measured, "+dirty" when src/ or examples/ had uncommitted changes. */
  readonly source: string
}

const versionOf = (pkg: string): string => {
  try {
    const json = JSON.parse(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), "utf8"))
    return String(json.version)
  } catch {
    return "?"
  }
}

/** BENCH_SOURCE wins: set it when measuring a snapshot of src/ outside the repository. */
const sourceOf = (): string => {
  if (process.env.BENCH_SOURCE !== undefined) return process.env.BENCH_SOURCE
  try {
    const root = new URL("../..", import.meta.url)
    const git = (...args: Array<string>) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
    return git("rev-parse", "--short", "HEAD") +
      (git("status", "--porcelain", "--", "src", "examples") === "" ? "" : "+dirty")
  } catch {
    return "unknown"
  }
}

const round2 = (xs: ReadonlyArray<number>) => xs.map((x) => Math.round(x * 100) / 100)

export const machine = (): Machine => ({
  date: new Date().toISOString(),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? "?",
  memoryGB: Math.round(os.totalmem() / 2 ** 30),
  loadAvgStart: round2(os.loadavg()),
  loadAvgEnd: [],
  loadDuring: undefined,
  versions: Object.fromEntries(
    ["effect", "@effect/platform", "@effect/platform-node", "p-limit", "p-map", "fastq", "piscina", "tsx"]
      .map((p) => [p, versionOf(p)])
  ),
  source: sourceOf()
})

/**
 * Samples the load average while the benchmark runs (the machine is shared: a ratio measured
 * under a load spike should be read with it). Returns the function that stops and records.
 */
export const monitorLoad = (m: Machine, everyMs = 5_000): () => void => {
  const seen: Array<number> = [os.loadavg()[0]!]
  const timer = setInterval(() => seen.push(os.loadavg()[0]!), everyMs)
  timer.unref()
  return () => {
    clearInterval(timer)
    seen.push(os.loadavg()[0]!)
    const s = [...seen].sort((a, b) => a - b)
    m.loadAvgEnd = round2(os.loadavg())
    m.loadDuring = {
      min: round2([s[0]!])[0]!,
      median: round2([s[Math.floor(s.length / 2)]!])[0]!,
      max: round2([s[s.length - 1]!])[0]!
    }
  }
}

export const loadNow = (): number => round2([os.loadavg()[0]!])[0]!

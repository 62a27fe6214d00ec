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
  readonly versions: Readonly<Record<string, string>>
  /** The commit whose src/ was measured, "+dirty" when src/ had uncommitted changes. */
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
    return git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--", "src") === "" ? "" : "+dirty")
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
  versions: Object.fromEntries(
    ["effect", "@effect/platform", "@effect/platform-node", "p-limit", "p-queue", "fastq", "piscina", "tinypool"]
      .map((p) => [p, versionOf(p)])
  ),
  source: sourceOf()
})

export const finish = (m: Machine): void => {
  m.loadAvgEnd = round2(os.loadavg())
}

/** Where and when the figures came from: absolute numbers mean little without it. */
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
}

const versionOf = (pkg: string): string => {
  try {
    const json = JSON.parse(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), "utf8"))
    return String(json.version)
  } catch {
    return "?"
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
  )
})

export const finish = (m: Machine): void => {
  m.loadAvgEnd = round2(os.loadavg())
}

/**
 * Benchmark entry: `npm run bench` (full) or `npm run bench -- --quick` (tiny, for CI).
 * `--only=family,family` runs a subset; `--render` redraws md/svg from the saved latest.json;
 * `--source` runs the .ts files through tsx instead of the tsc build (debugging only).
 *
 * Each scenario family runs in its own child process so one family's heap, JIT state and
 * leftover timers cannot bias the next; the orchestrator only collects results and renders
 * bench/results/latest.{md,json,svg} (quick mode: bench/results/quick/, gitignored).
 */
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { build } from "./lib/build.js"
import type { Machine } from "./lib/machine.js"
import { finish, machine } from "./lib/machine.js"
import { markdown } from "./lib/markdown.js"
import type { FamilyResult, Mode } from "./lib/protocol.js"
import { svgChart } from "./lib/svg.js"
import type { Verdict } from "./lib/targets.js"
import { evaluate } from "./lib/targets.js"

interface Family {
  readonly name: string
  readonly script: string
  readonly args?: ReadonlyArray<string>
}

const FAMILIES: ReadonlyArray<Family> = [
  { name: "throughput-sync", script: "throughput/run", args: ["sync"] },
  { name: "throughput-async", script: "throughput/run", args: ["async"] },
  { name: "memory", script: "memory/run" },
  { name: "threads", script: "threads/run" }
]

const argv = process.argv.slice(2)
const mode: Mode = argv.includes("--quick") ? "quick" : "full"
/** `--only name,name` runs a subset (handy while working on one scenario). */
const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",")

const benchDir = fileURLToPath(new URL(".", import.meta.url))
const outDir = `${benchDir}results/${mode === "quick" ? "quick/" : ""}`
const tmpDir = `${benchDir}results/tmp/`

/** `--source` runs the TypeScript through tsx instead of the tsc build (debugging only). */
const fromSource = argv.includes("--source")

/** The command for a family: compiled JS on plain node, or the .ts file through tsx. */
const command = (family: Family, buildDir: string | undefined): Array<string> =>
  buildDir === undefined
    ? ["--expose-gc", "--import", "tsx", `${benchDir}${family.script}.ts`, ...(family.args ?? [])]
    : ["--expose-gc", `${buildDir}/bench/${family.script}.js`, ...(family.args ?? [])]

/** Runs one family in its own process, returning its result file or throwing on failure. */
const runFamily = (family: Family, buildDir: string | undefined): Promise<FamilyResult> => {
  const out = `${tmpDir}${family.name}.json`
  rmSync(out, { force: true })
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command(family, buildDir), {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, BENCH_MODE: mode, BENCH_OUT: out }
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      if (code !== 0) return reject(new Error(`${family.name} exited with ${signal ?? code}`))
      try {
        resolve(JSON.parse(readFileSync(out, "utf8")) as FamilyResult)
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** Writes the three outputs; `--render` calls it again on a saved latest.json (chart/table changes). */
const render = (saved: Saved): string => {
  const md = markdown(saved.machine, saved.mode, saved.families, saved.verdicts, saved.failures)
  writeFileSync(`${outDir}latest.md`, md)
  writeFileSync(`${outDir}latest.json`, JSON.stringify(saved, null, 2))
  writeFileSync(`${outDir}latest.svg`, svgChart(saved.machine, saved.families))
  return md
}

interface Saved {
  readonly mode: Mode
  readonly machine: Machine
  readonly verdicts: ReadonlyArray<Verdict>
  readonly families: ReadonlyArray<FamilyResult>
  readonly failures: ReadonlyArray<string>
}

const measure = async (): Promise<Saved> => {
  const m = machine()
  mkdirSync(outDir, { recursive: true })
  mkdirSync(tmpDir, { recursive: true })
  const families: Array<FamilyResult> = []
  const failures: Array<string> = []
  const buildDir = fromSource ? undefined : build(`${benchDir}..`, (line) => process.stderr.write(`${line}\n`))
  for (const family of FAMILIES.filter((f) => only === undefined || only.includes(f.name))) {
    process.stderr.write(`== ${family.name} (${mode})\n`)
    const t0 = performance.now()
    try {
      families.push(await runFamily(family, buildDir))
    } catch (e) {
      failures.push(`${family.name}: ${String(e)}`)
      process.stderr.write(`!! ${family.name} failed: ${String(e)}\n`)
    }
    process.stderr.write(`== ${family.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }
  finish(m)
  return { mode, machine: m, verdicts: evaluate(families), families, failures }
}

const started = performance.now()
const saved = argv.includes("--render")
  ? (JSON.parse(readFileSync(`${outDir}latest.json`, "utf8")) as Saved)
  : await measure()
const md = render({ ...saved, verdicts: evaluate(saved.families) })
process.stdout.write(`${md}\n\nwritten to ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
// A family that crashed is a broken harness: fail CI, but only after writing what did run.
if (saved.failures.length > 0) process.exitCode = 1

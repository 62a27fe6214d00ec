/**
 * Benchmark entry: `npm run bench` (full) or `npm run bench -- --quick` (small sizes, for CI).
 * `--only=id,id` runs some scenarios (into results/partial/); `--render` redraws md/svg from the
 * saved latest.json; `--profile=SCENARIO:ALTERNATIVE` profiles one sample (see `profile`).
 *
 * What it measures is what a user runs: the built package (dist/, imported as
 * `effect-supervisor`), plain .mjs files in every thread, and a fresh `node` process for every
 * sample. In each round every alternative of a scenario runs once, in a rotated order, so noise
 * on this shared machine hits them alike; ratios pair alternatives round by round and report
 * the median. The load average is recorded at the start of each scenario and during the run.
 *
 * A sample that crashes or computes a wrong answer fails the run (exit code 1, after writing
 * what did run); a missed target never does — the figures are informative.
 */
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "./lib/build.js"
import type { Machine } from "./lib/machine.js"
import { loadNow, machine, monitorLoad } from "./lib/machine.js"
import { markdown, readmeSection } from "./lib/markdown.js"
import { describeProfile } from "./lib/profile.js"
import type { AltResult, Group, Mode, Sample } from "./lib/protocol.js"
import { svgChart } from "./lib/svg.js"
import { evaluate, fmtValue } from "./lib/targets.js"
import type { AltSpec, Context, Scenario } from "./scenarios.js"
import { scenarios } from "./scenarios.js"

const argv = process.argv.slice(2)
const mode: Mode = argv.includes("--quick") ? "quick" : "full"
const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",")

const root = fileURLToPath(new URL("..", import.meta.url))
// A subset never overwrites the full run's latest.* (partial/ is gitignored, like quick/).
const outDir = join(root, "bench/results", mode === "quick" ? "quick" : only !== undefined ? "partial" : "")
const tmp = join(root, "bench/results/tmp")

/** What a run saves (latest.json) and renders from. */
export interface Saved {
  readonly mode: Mode
  readonly machine: Machine
  readonly groups: ReadonlyArray<Group>
  readonly failures: ReadonlyArray<string>
}

const ctx: Context = { mode, root, tmp, oneFileDir: join(tmp, "demo-one-file") }
const all = scenarios(ctx)

class TimedOut extends Error {}

/** Runs one sample in a fresh process; rejects on a crash or wrong answer, TimedOut past the limit. */
const sampleOnce = (
  samplesDir: string,
  spec: AltSpec,
  timeoutSeconds: number,
  nodeArgs: ReadonlyArray<string> = []
): Promise<Sample> => {
  const out = join(tmp, `sample-${process.pid}.json`)
  rmSync(out, { force: true })
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        ...nodeArgs,
        join(samplesDir, `${spec.script}.js`),
        JSON.stringify({ alt: spec.alt, params: spec.params })
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, BENCH_OUT: out }, detached: true }
    )
    const stderr: Array<Buffer> = []
    child.stderr.on("data", (b: Buffer) => stderr.push(b))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      // The sample's own process group: a demo's tsx and sha256sum children go with it.
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    }, timeoutSeconds * 1000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (timedOut) return reject(new TimedOut(`${spec.name}: timed out after ${timeoutSeconds} s`))
      if (code !== 0) {
        const tail = Buffer.concat(stderr).toString().trim().split("\n").slice(-15).join("\n")
        return reject(new Error(`${spec.name} exited with ${signal ?? code}:\n${tail}`))
      }
      try {
        resolve(JSON.parse(readFileSync(out, "utf8")) as Sample)
      } catch (e) {
        reject(e)
      }
    })
  })
}

const fmtSample = (s: Sample, tasks: number | undefined) =>
  `${s.ms.toFixed(1)} ms${tasks === undefined ? "" : ` (${((s.ms * 1000) / tasks).toFixed(2)} µs/task)`}, ` +
  `cpu ${s.cpuMs.toFixed(0)} ms, rss ${s.rssMB.toFixed(0)} MB`

/** Every round runs every alternative once; the first alternative rotates from round to round. */
const runScenario = async (samplesDir: string, scenario: Scenario, failures: Array<string>): Promise<Group> => {
  const loadAtStart = loadNow()
  const samples = new Map<string, Array<Sample | undefined>>(scenario.alternatives.map((a) => [a.name, []]))
  const gaveUp = new Set<string>()
  for (let round = 0; round < scenario.rounds; round++) {
    const shift = round % scenario.alternatives.length
    const order = [...scenario.alternatives.slice(shift), ...scenario.alternatives.slice(0, shift)]
    for (const spec of order) {
      const list = samples.get(spec.name)!
      if (gaveUp.has(spec.name)) {
        list.push(undefined)
        continue
      }
      try {
        const s = await sampleOnce(samplesDir, spec, scenario.timeoutSeconds)
        list.push(s)
        process.stderr.write(
          `  ${round + 1}/${scenario.rounds} ${spec.name}: ${fmtSample(s, spec.tasks ?? scenario.tasks)}\n`
        )
      } catch (e) {
        list.push(undefined)
        gaveUp.add(spec.name)
        process.stderr.write(`  ${round + 1}/${scenario.rounds} ${spec.name}: ${String(e)}\n`)
        // A timeout at full size is a figure (a missed target); at quick sizes it is a hang.
        if (!(e instanceof TimedOut) || mode === "quick") failures.push(`${scenario.id}: ${String(e)}`)
      }
    }
  }
  const alternatives: Array<AltResult> = scenario.alternatives.map((a) => ({
    name: a.name,
    ...(a.tasks === undefined ? {} : { tasks: a.tasks }),
    samples: samples.get(a.name)!
  }))
  return {
    id: scenario.id,
    title: scenario.title,
    ...(scenario.tasks === undefined ? {} : { tasks: scenario.tasks }),
    baseline: scenario.baseline,
    alternatives,
    loadAtStart,
    ...(scenario.notes === undefined ? {} : { notes: scenario.notes })
  }
}

/** Prints a scenario's targets (value, met or missed) and informative figures as soon as it ends. */
const report = (scenario: Scenario, group: Group): void => {
  for (const v of evaluate([scenario], [group])) {
    const verdict = v.met === undefined ? "not measured" : v.met ? "MET" : `MISSED${v.note ? ` (${v.note})` : ""}`
    process.stderr.write(`  target ${v.label}: ${fmtValue(v.unit, v.value)} → ${verdict}\n`)
  }
  for (const show of scenario.shows ?? []) {
    const r = show.measure(group)
    process.stderr.write(`  figure ${show.label}: ${fmtValue(show.unit ?? "×", r?.median)}\n`)
  }
}

const prepare = (): void => {
  mkdirSync(outDir, { recursive: true })
  // Fresh scratch: reference hashes are made once per run, the one-file directory for the demo.
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(ctx.oneFileDir, { recursive: true })
  writeFileSync(join(ctx.oneFileDir, "one.txt"), "one small file\n")
}

const measure = async (): Promise<Saved> => {
  prepare()
  const m = machine()
  const stopMonitor = monitorLoad(m)
  process.stderr.write("== build (npm run build, then the samples)\n")
  const samplesDir = build(root)
  const groups: Array<Group> = []
  const failures: Array<string> = []
  for (const scenario of all.filter((s) => only === undefined || only.includes(s.id))) {
    process.stderr.write(`== ${scenario.id}: ${scenario.title} (${mode}, load ${loadNow()})\n`)
    const t0 = performance.now()
    const group = await runScenario(samplesDir, scenario, failures)
    groups.push(group)
    report(scenario, group)
    process.stderr.write(`== ${scenario.id} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }
  stopMonitor()
  return { mode, machine: m, groups, failures }
}

const render = (saved: Saved): string => {
  const verdicts = evaluate(all, saved.groups)
  const md = markdown(saved, all, verdicts)
  writeFileSync(join(outDir, "latest.md"), md)
  writeFileSync(join(outDir, "latest.json"), JSON.stringify(saved, null, 2))
  writeFileSync(join(outDir, "latest.svg"), svgChart(saved.machine, saved.groups, verdicts))
  // The README's section comes from full runs of every scenario only.
  if (saved.mode === "full" && only === undefined) {
    writeFileSync(join(root, "bench/README-section.md"), readmeSection(saved, verdicts))
  }
  return md
}

/**
 * `--profile=SCENARIO:ALTERNATIVE`: one sample of that alternative under `node --cpu-prof`
 * (profile in bench/results/profiles/), then where its time went.
 */
const profile = async (arg: string): Promise<void> => {
  const at = arg.indexOf(":")
  const scenario = all.find((s) => s.id === arg.slice(0, at))
  const spec = scenario?.alternatives.find((a) => a.name === arg.slice(at + 1))
  if (scenario === undefined || spec === undefined) {
    const known = all.flatMap((s) => s.alternatives.map((a) => `${s.id}:${a.name}`))
    throw new Error(`--profile=SCENARIO:ALTERNATIVE, one of:\n${known.join("\n")}`)
  }
  prepare()
  const samplesDir = build(root)
  const dir = join(root, "bench/results/profiles", scenario.id)
  rmSync(dir, { recursive: true, force: true })
  const s = await sampleOnce(samplesDir, spec, scenario.timeoutSeconds * 3, ["--cpu-prof", `--cpu-prof-dir=${dir}`])
  process.stdout.write(`${spec.name}: ${fmtSample(s, spec.tasks ?? scenario.tasks)}\n`)
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    process.stdout.write(`\n${join(dir, file)}\n${describeProfile(join(dir, file), 25).join("\n")}\n`)
  }
}

const profileArg = argv.find((a) => a.startsWith("--profile="))?.slice("--profile=".length)
if (profileArg !== undefined) {
  await profile(profileArg)
  process.exit(0)
}

const started = performance.now()
const saved = argv.includes("--render")
  ? (JSON.parse(readFileSync(join(outDir, "latest.json"), "utf8")) as Saved)
  : await measure()
const md = render(saved)
process.stdout.write(`${md}\n\nwritten to ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
if (saved.failures.length > 0) {
  process.stderr.write(`\n${saved.failures.length} sample(s) failed:\n${saved.failures.join("\n")}\n`)
  process.exitCode = 1
}

/**
 * Scenario family 2: N tasks streamed through a window of 1024, small N vs large N, peak heap
 * and RSS. Each sample is its own process (see sample.ts); samples interleave across
 * alternatives and sizes round by round like every other family.
 */
import { spawn } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { counts, log, mode, writeResult } from "../lib/child.js"
import { isCompiled, sibling } from "../lib/paths.js"
import type { Group } from "../lib/protocol.js"
import { STREAMS } from "./streams.js"

const sizes = mode === "quick"
  ? [{ label: "10k", n: 10_000 }, { label: "50k", n: 50_000 }]
  : [{ label: "100k", n: 100_000 }, { label: "1M", n: 1_000_000 }]
const warmN = mode === "quick" ? 2_000 : 50_000
const names = Object.keys(STREAMS)
const sampleScript = fileURLToPath(sibling("sample.ts", import.meta.url))
/** Compiled samples run on plain node; from source they need tsx. */
const loader = isCompiled(import.meta.url) ? [] : ["--import", "tsx"]
const out = `${process.env.BENCH_OUT}.sample.json`

interface Sample {
  readonly heapMB: number
  readonly rssMB: number
  readonly ms: number
}

const sampleOnce = (name: string, n: number): Promise<Sample> => {
  rmSync(out, { force: true })
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      "--expose-gc",
      ...loader,
      sampleScript,
      name,
      String(n),
      String(warmN)
    ], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, SAMPLE_OUT: out }
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`memory sample ${name} ${n} exited with ${code}`))
      resolve(JSON.parse(readFileSync(out, "utf8")) as Sample)
    })
  })
}

const results = new Map<string, Array<Sample>>()
const key = (name: string, label: string) => `${name}@${label}`
// Processes start cold, so no warm-up rounds here: each sample warms itself up in-process.
for (let round = 0; round < counts.reps; round++) {
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
  for (const name of order) {
    for (const size of round % 2 === 0 ? sizes : [...sizes].reverse()) {
      const s = await sampleOnce(name, size.n)
      const k = key(name, size.label)
      results.set(k, [...(results.get(k) ?? []), s])
      log(
        `rep ${round + 1}/${counts.reps} ${k}: heap +${s.heapMB.toFixed(1)} MB, rss +${s.rssMB.toFixed(1)} MB, ${
          s.ms.toFixed(0)
        } ms`
      )
    }
  }
}
rmSync(out, { force: true })

const groups: Array<Group> = names.map((name) => ({
  id: `memory-${name}`,
  title: `Memory, ${name}: ${sizes.map((s) => s.label).join(" vs ")} tasks streamed, window 1024`,
  unit: "MB",
  baseline: sizes[0]!.label,
  alternatives: sizes.map((size) => {
    const ss = results.get(key(name, size.label)) ?? []
    return {
      name: size.label,
      samples: ss.map((s) => s.heapMB),
      extra: { "peak RSS growth MB": ss.map((s) => s.rssMB), "time ms": ss.map((s) => s.ms) }
    }
  }),
  notes: [
    "Peak heapUsed and RSS above a baseline taken after a full GC, following an in-process warm-up run; one process per sample."
  ]
}))

writeResult({ family: "memory", skipped: [], groups })

/**
 * Scenario family 3: 2 threads, trivial echo round trips and CPU-bound fib, every pool started
 * once up front (thread start-up is not what is measured) and then interleaved round by round.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { counts, expectEqual, log, mode, writeResult } from "../lib/child.js"
import type { Alternative } from "../lib/interleave.js"
import { interleave } from "../lib/interleave.js"
import { sibling } from "../lib/paths.js"
import type { Group } from "../lib/protocol.js"
import { piscina, raw, tinypool } from "./anchors.js"
import { platformPool } from "./platform.js"
import { fib } from "./tasks.mjs"
import type { Kind, ThreadAlt } from "./types.js"

const echoN = mode === "quick" ? 2_000 : 20_000
const fibs = mode === "quick" ? { count: 10, n: 20 } : { count: 200, n: 28 }
const echoItems = Array.from({ length: echoN }, (_, i) => i)
const fibItems = Array.from({ length: fibs.count }, () => fibs.n)
const skipped: Array<{ name: string; reason: string }> = []

/** The supervisor's Threads variant, skipped with the reason if the module is missing or fails. */
const supervisorThreads = async (): Promise<Array<ThreadAlt>> => {
  const threadsModule = fileURLToPath(sibling("../../src/Threads.ts", import.meta.url))
  if (!existsSync(threadsModule)) {
    skipped.push({ name: "supervisor Threads", reason: "src/Threads.ts is not in this build" })
    return []
  }
  try {
    // Loaded lazily so the anchors still run when the Threads module fails to load or start.
    const specifier = "./supervisor.js"
    const module = (await import(specifier)) as { supervisorThreads: () => Promise<ThreadAlt> }
    return [await module.supervisorThreads()]
  } catch (e) {
    skipped.push({ name: "supervisor Threads", reason: `failed to start: ${String(e)}` })
    return []
  }
}

const alts: Array<ThreadAlt> = [piscina(), tinypool(), raw(), await platformPool(), ...await supervisorThreads()]

const alternativesFor = (kind: Kind, xs: ReadonlyArray<number>, expected: number): Array<Alternative> =>
  alts.map((alt) => ({
    name: alt.name,
    run: async () => expectEqual(alt.name, await alt.runAll(kind, xs), expected)
  }))

const echo = await interleave(alternativesFor("echo", echoItems, echoN * (echoN - 1) / 2), counts, log)
const fibRuns = await interleave(alternativesFor("fib", fibItems, fibs.count * fib(fibs.n)), counts, log)
await Promise.all(alts.map((a) => a.close()))

const group = (id: string, title: string, tasks: number, samples: Map<string, Array<number>>): Group => ({
  id,
  title,
  unit: "ms",
  tasks,
  baseline: "piscina",
  alternatives: alts.map((a) => ({ name: a.name, samples: samples.get(a.name)! })),
  notes: [
    "Each batch is submitted at once (platform pool: 4 callers in flight, see bench/threads/platform.ts); " +
    "pools are started before the rounds. Targets are stated as time vs piscina = 1 ÷ speed."
  ]
})

writeResult({
  family: "threads",
  skipped,
  groups: [
    group("threads-echo", `Threads (2): ${echoN.toLocaleString("en-US")} echo round trips`, echoN, echo),
    group("threads-fib", `Threads (2): ${fibs.count} × fib(${fibs.n})`, fibs.count, fibRuns)
  ]
})
// Pools that keep a handle open (or a stuck thread) must not hang the harness.
process.exit(0)

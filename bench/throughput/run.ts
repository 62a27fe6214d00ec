/**
 * Scenario family 1 (one process per handler variant): 200k trivial tasks, concurrency 8.
 * Usage (through bench/run.ts): tsx bench/throughput/run.ts sync|async
 */
import { counts, expectEqual, log, mode, writeResult } from "../lib/child.js"
import type { Alternative } from "../lib/interleave.js"
import { interleave } from "../lib/interleave.js"
import type { AltSamples } from "../lib/protocol.js"
import type { Runner } from "./anchors.js"
import { effectForEach, fastqCallback, fastqPromise, pLimitRunner, pQueueRunner } from "./anchors.js"
import { expectedSum, parseVariant, range } from "./handlers.js"

const variant = parseVariant(process.argv[2])
const tasks = mode === "quick" ? 5_000 : 200_000
const items = range(tasks)
const expected = expectedSum(tasks)

const checked = (name: string, runner: Runner): Alternative => ({
  name,
  run: async () => expectEqual(name, await runner(items), expected)
})

const skipped: Array<{ name: string; reason: string }> = []

/** The supervisor's paths, or none (with the reason) while `src/Supervisor.ts` is missing. */
const supervisorAlternatives = async (): Promise<Array<Alternative>> => {
  try {
    const sup = await import("./supervisor.js")
    return [
      checked("supervisor submit", sup.submitLoop(variant)),
      checked("supervisor submitAll", sup.submitAll(variant)),
      checked("supervisor execute (8 callers)", sup.execute(variant, 8)),
      checked("supervisor execute (1024 callers)", sup.execute(variant, 1024)),
      checked("Supervisor.run", sup.run(variant))
    ]
  } catch (e) {
    skipped.push({ name: "supervisor (all paths)", reason: String(e) })
    return []
  }
}

const alternatives: Array<Alternative> = [
  checked("p-limit", pLimitRunner(variant)),
  checked("p-queue", pQueueRunner(variant)),
  checked("fastq (promise)", fastqPromise(variant)),
  checked("fastq (callback)", fastqCallback(variant)),
  checked("Effect.forEach", effectForEach(variant)),
  ...await supervisorAlternatives()
]

const samples = await interleave(alternatives, counts, log)
const result: Array<AltSamples> = alternatives.map((a) => ({ name: a.name, samples: samples.get(a.name)! }))

writeResult({
  family: `throughput-${variant}`,
  skipped,
  groups: [{
    id: `throughput-${variant}`,
    title: `${tasks.toLocaleString("en-US")} trivial tasks, concurrency 8, ${
      variant === "sync" ? "`Effect.sync(() => x * 2)`" : "`Effect.promise(() => Promise.resolve(x * 2))`"
    } handler`,
    short: `${tasks / 1000}k tasks, concurrency 8, ${variant} handler`,
    unit: "ms",
    tasks,
    baseline: "p-limit",
    alsoVs: ["fastq (promise)", "Effect.forEach"],
    alternatives: result
  }]
})

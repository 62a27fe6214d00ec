/** Renders a run as Markdown (bench/results/latest.md; the README quotes its targets table). */
import type { Saved } from "../run.js"
import type { Scenario } from "../scenarios.js"
import type { Group, Sample } from "./protocol.js"
import { absolute, fmtRatio, speed, tasksOf } from "./ratios.js"
import { summarize } from "./stats.js"
import type { Verdict } from "./targets.js"
import { fmtValue } from "./targets.js"

const fmt = (x: number | undefined, digits = 1) => x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : "—"

const median = (g: Group, alt: string, key: keyof Sample) => absolute(g, alt, key)?.median

const groupTable = (g: Group): Array<string> => {
  const head = ["alternative", "median ms", "min–max ms", "µs/task", "CPU ms", "peak RSS MB", `speed vs ${g.baseline}`]
  const rows = g.alternatives.map((a) => {
    const ms = a.samples.flatMap((s) => (s === undefined ? [] : [s.ms]))
    if (ms.length === 0) return [a.name, "timed out", "—", "—", "—", "—", "—"]
    const s = summarize(ms)
    const tasks = tasksOf(g, a)
    return [
      a.name,
      fmt(s.median),
      `${fmt(s.min)}–${fmt(s.max)}`,
      tasks === undefined ? "—" : fmt((s.median * 1000) / tasks, 2),
      fmt(median(g, a.name, "cpuMs"), 0),
      fmt(median(g, a.name, "rssMB"), 0),
      fmtRatio(speed(g, a.name, g.baseline))
    ]
  })
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`)
}

const verdictText = (v: Verdict): string =>
  v.met === undefined ? "not measured" : v.met ? "**met**" : `**missed**${v.note ? ` (${v.note})` : ""}`

const range = (v: Verdict): string =>
  v.min === undefined || v.max === undefined ? "" : ` (${fmtValue(v.unit, v.min)}–${fmtValue(v.unit, v.max)})`

export const targetsTable = (verdicts: ReadonlyArray<Verdict>): Array<string> => [
  "| scenario | target | this run (median, min–max) | verdict |",
  "| --- | --- | --- | --- |",
  ...verdicts.map((v) => `| ${v.scenario} | ${v.label} | ${fmtValue(v.unit, v.value)}${range(v)} | ${verdictText(v)} |`)
]

const section = (g: Group, scenario: Scenario | undefined): Array<string> => [
  `### ${g.title}`,
  "",
  `Load average at the start: ${g.loadAtStart}. Rounds: ${g.alternatives[0]?.samples.length ?? 0}.`,
  "",
  ...groupTable(g),
  "",
  ...(scenario?.shows ?? []).map((show) => `- ${show.label}: ${fmtRatio(show.measure(g))}`),
  ...(g.notes ?? []).map((n) => `- ${n}`),
  ""
]

export const markdown = (
  saved: Saved,
  scenarios: ReadonlyArray<Scenario>,
  verdicts: ReadonlyArray<Verdict>
): string => {
  const m = saved.machine
  const met = verdicts.filter((v) => v.met === true).length
  const missed = verdicts.filter((v) => v.met === false).length
  return [
    `# Benchmark results (${saved.mode})`,
    "",
    `${m.date} · commit ${m.source} · Node ${m.node} · ${m.platform} · ${m.cpus} CPUs (${m.cpuModel}) · ` +
    `${m.memoryGB} GB`,
    "",
    `Machine load (1-minute load average; the machine is shared): ${m.loadAvgStart[0]} at the start, ` +
    `${m.loadAvgEnd[0]} at the end` +
    (m.loadDuring === undefined
      ? "."
      : `, ${m.loadDuring.min}–${m.loadDuring.max} during the run (median ${m.loadDuring.median}).`),
    "",
    `Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    "Method: every sample is a fresh `node` process running the built package (`dist/`, imported as " +
    "`effect-supervisor`) or the anchor, with plain `.mjs` files in every thread. In-process samples run an " +
    "untimed warm-up at a tenth of the size first, then the timed run, and check their answer. Each round runs " +
    "every alternative once (rotated order); a ratio pairs two alternatives round by round and gives the median " +
    "(min–max) of those ratios. Speed ratio = the other's time per task ÷ this one's (> 1 is faster).",
    "",
    "## Targets",
    "",
    `${met} of ${verdicts.length} targets met, ${missed} missed` +
    (met + missed < verdicts.length ? `, ${verdicts.length - met - missed} not measured.` : "."),
    "",
    ...targetsTable(verdicts),
    "",
    "## Scenarios",
    "",
    ...saved.groups.flatMap((g) => section(g, scenarios.find((s) => s.id === g.id))),
    ...(saved.failures.length > 0 ? ["## Failures", "", ...saved.failures.map((f) => `- ${f}`), ""] : [])
  ].join("\n")
}

/** Renders the results as Markdown tables (bench/results/latest.md, quoted in the README). */
import type { Machine } from "./machine.js"
import type { FamilyResult, Group } from "./protocol.js"
import { fmtRatio, ratio } from "./ratios.js"
import { summarize } from "./stats.js"
import { summaryTables } from "./summary.js"
import type { Verdict } from "./targets.js"

const fmt = (x: number, digits = 1) => Number.isFinite(x) ? x.toFixed(digits) : "—"

const rate = (tasks: number, ms: number): string => {
  const perSec = tasks / (ms / 1000)
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M/s`
  return perSec >= 1e4 ? `${(perSec / 1e3).toFixed(0)}k/s` : `${perSec.toFixed(0)}/s`
}

const timeTable = (g: Group): Array<string> => {
  const vs = [g.baseline, ...(g.alsoVs ?? [])]
  const head = ["alternative", "median ms", "min–max ms", ...(g.tasks ? ["throughput", "µs/task"] : [])]
    .concat(vs.map((v) => `speed vs ${v}`))
  const rows = g.alternatives.map((a) => {
    const s = summarize(a.samples)
    const perTask = g.tasks ? [rate(g.tasks, s.median), fmt((s.median * 1000) / g.tasks, 2)] : []
    return [a.name, fmt(s.median), `${fmt(s.min)}–${fmt(s.max)}`, ...perTask]
      .concat(vs.map((v) => fmtRatio(ratio(g, a.name, v))))
  })
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`)
}

const sizeTable = (g: Group): Array<string> => {
  const extras = Object.keys(g.alternatives[0]?.extra ?? {})
  const head = ["run", "peak heap MB (median)", "min–max", `× ${g.baseline}`, ...extras.map((e) => `${e} (median)`)]
  const rows = g.alternatives.map((a) => {
    const s = summarize(a.samples)
    return [a.name, fmt(s.median), `${fmt(s.min)}–${fmt(s.max)}`, fmtRatio(ratio(g, a.name, g.baseline))]
      .concat(extras.map((e) => fmt(summarize(a.extra?.[e] ?? []).median)))
  })
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`)
}

const groupSection = (g: Group): Array<string> => [
  `### ${g.title}`,
  "",
  ...(g.unit === "ms" ? timeTable(g) : sizeTable(g)),
  "",
  ...(g.notes ?? []).map((n) => `- ${n}`),
  ...(g.notes?.length ? [""] : [])
]

const verdictLine = (v: Verdict): string => {
  const mark = v.met === undefined ? "n/a (not measured)" : v.met ? "**met**" : "**missed**"
  const value = v.value === undefined ? "—" : `${v.value.toFixed(2)}×`
  return `| ${v.label} | ${value} | ${mark} |`
}

export const markdown = (
  m: Machine,
  mode: string,
  families: ReadonlyArray<FamilyResult>,
  verdicts: ReadonlyArray<Verdict>,
  failures: ReadonlyArray<string>
): string =>
  [
    `# Benchmark results (${mode})`,
    "",
    `${m.date} · Node ${m.node} · ${m.platform} · ${m.cpus} CPUs (${m.cpuModel}) · ${m.memoryGB} GB · ` +
    `load average ${m.loadAvgStart.join(" ")} at start, ${m.loadAvgEnd.join(" ")} at end`,
    "",
    `Source measured: effect-supervisor ${m.source ?? "unknown"}. ` +
    `Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    "Alternatives run interleaved (A B C, A B C, …) after warm-up rounds; figures are medians with " +
    "min–max over the counted rounds. Ratios pair the two alternatives round by round and give the " +
    "median (min–max) of those per-round ratios. Speed ratio = baseline time ÷ time (> 1 is faster).",
    "",
    "## Targets",
    "",
    "| target | value | verdict |",
    "| --- | --- | --- |",
    ...verdicts.map(verdictLine),
    "",
    "## Summary",
    "",
    ...summaryTables(families),
    ...families.flatMap((f) => f.groups.flatMap(groupSection)),
    ...(families.some((f) => f.skipped.length > 0) || failures.length > 0
      ? [
        "## Not measured",
        "",
        ...families.flatMap((f) => f.skipped.map((s) => `- ${s.name}: ${s.reason}`)),
        ...failures.map((f) => `- ${f}`),
        ""
      ]
      : [])
  ].join("\n")

/**
 * Compact tables for the README: median ratios only (the full tables with ranges are in
 * latest.md), one row per alternative, one column per group × anchor.
 */
import type { FamilyResult, Group } from "./protocol.js"
import { ratio } from "./ratios.js"

interface Column {
  readonly group: Group
  readonly vs: string
  readonly label: string
}

const cell = (group: Group, alt: string, vs: string): string => {
  const r = ratio(group, alt, vs)
  return r === undefined ? "—" : `${r.median.toFixed(2)}×`
}

const table = (rows: ReadonlyArray<string>, columns: ReadonlyArray<Column>): Array<string> => [
  `| | ${columns.map((c) => c.label).join(" | ")} |`,
  `| --- | ${columns.map(() => "---").join(" | ")} |`,
  ...rows.map((row) => `| ${row} | ${columns.map((c) => cell(c.group, row, c.vs)).join(" | ")} |`)
]

const rowsOf = (groups: ReadonlyArray<Group>): Array<string> => [
  ...new Set(groups.flatMap((g) => g.alternatives.map((a) => a.name)))
]

export const summaryTables = (families: ReadonlyArray<FamilyResult>): Array<string> => {
  const groups = families.flatMap((f) => f.groups)
  const throughput = groups.filter((g) => g.id.startsWith("throughput-"))
  const threads = groups.filter((g) => g.id.startsWith("threads-"))
  const memory = groups.filter((g) => g.unit === "MB")
  const out: Array<string> = []
  if (throughput.length > 0) {
    const columns = throughput.flatMap((g) =>
      [g.baseline, ...(g.alsoVs ?? [])].map((vs) => ({ group: g, vs, label: `${g.id.slice(11)} vs ${vs}` }))
    )
    out.push("Throughput, speed ratio (> 1× is faster):", "", ...table(rowsOf(throughput), columns), "")
  }
  if (threads.length > 0) {
    const columns = threads.map((g) => ({ group: g, vs: g.baseline, label: `${g.id.slice(8)} vs ${g.baseline}` }))
    out.push("Worker threads, speed ratio (> 1× is faster):", "", ...table(rowsOf(threads), columns), "")
  }
  if (memory.length > 0) {
    out.push(
      "Memory, peak heap of the larger run ÷ the smaller (1× = flat):",
      "",
      "| | ratio |",
      "| --- | --- |",
      ...memory.map((g) =>
        `| ${g.id.slice(7)} | ${cell(g, g.alternatives[g.alternatives.length - 1]!.name, g.baseline)} |`
      ),
      ""
    )
  }
  return out
}

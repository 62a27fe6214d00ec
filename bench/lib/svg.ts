/**
 * A dependency-free SVG bar chart of every group's ratios against its baseline: one panel per
 * group, one bar per alternative (median) with a min–max whisker and a dashed line at 1×.
 */
import type { Machine } from "./machine.js"
import type { FamilyResult, Group } from "./protocol.js"
import { ratio } from "./ratios.js"

const WIDTH = 900
const LABEL = 270
const BAR_AREA = WIDTH - LABEL - 90
const ROW = 20
const PANEL_HEAD = 34

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/`/g, "")

const caption = (g: Group) =>
  g.unit === "ms"
    ? `${esc(g.title)} — speed vs ${esc(g.baseline)} (higher is faster)`
    : `${esc(g.title)} — vs ${esc(g.baseline)} (lower is smaller)`

const panel = (g: Group, top: number): { svg: string; height: number } => {
  const rows = g.alternatives.map((a) => ({ name: a.name, r: ratio(g, a.name, g.baseline) }))
  const scaleMax = Math.max(1.2, ...rows.map((x) => x.r?.max ?? 0)) * 1.05
  const x = (v: number) => LABEL + (v / scaleMax) * BAR_AREA
  const parts: Array<string> = [
    `<text x="8" y="${top + 20}" font-weight="bold" font-size="13">${caption(g)}</text>`
  ]
  rows.forEach((row, i) => {
    const y = top + PANEL_HEAD + i * ROW
    const isBase = row.name === g.baseline
    parts.push(`<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end" font-size="12">${esc(row.name)}</text>`)
    if (row.r === undefined) return
    const fill = isBase ? "#9e9e9e" : row.name.toLowerCase().includes("supervisor") ? "#2b6cb0" : "#8fb3d9"
    parts.push(
      `<rect x="${LABEL}" y="${y + 3}" width="${(x(row.r.median) - LABEL).toFixed(1)}" height="${
        ROW - 6
      }" fill="${fill}"/>`,
      `<line x1="${x(row.r.min).toFixed(1)}" x2="${x(row.r.max).toFixed(1)}" y1="${y + 10}" y2="${
        y + 10
      }" stroke="#333" stroke-width="1"/>`,
      `<text x="${(x(row.r.max) + 6).toFixed(1)}" y="${y + 13}" font-size="11">${row.r.median.toFixed(2)}×</text>`
    )
  })
  const bottom = top + PANEL_HEAD + rows.length * ROW
  parts.push(
    `<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${top + PANEL_HEAD - 2}" y2="${bottom}" ` +
      `stroke="#c53030" stroke-dasharray="4 3"/>`
  )
  return { svg: parts.join("\n"), height: bottom - top + 10 }
}

export const svgChart = (m: Machine, families: ReadonlyArray<FamilyResult>): string => {
  const groups = families.flatMap((f) => f.groups)
  const panels: Array<string> = []
  let top = 30
  for (const g of groups) {
    const p = panel(g, top)
    panels.push(p.svg)
    top += p.height
  }
  const height = top + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `font-family="system-ui, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="12" fill="#555">${
      esc(
        `effect-supervisor benchmarks · ${m.date.slice(0, 16)}Z · Node ${m.node} · ${m.cpus} CPUs · ` +
          `medians with min–max whiskers; dashed line = 1×`
      )
    }</text>`,
    ...panels,
    `</svg>`
  ].join("\n")
}

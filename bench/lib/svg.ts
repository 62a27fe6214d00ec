/**
 * A dependency-free SVG bar chart: the targets first (distance to each target), then one panel
 * per scenario, one bar per alternative (median speed vs the baseline) with a min–max whisker,
 * on a shared log scale centred on 1× (ratios from 0.07× to 13× occur; a linear scale hid
 * everything but the largest bar).
 */
import type { Machine } from "./machine.js"
import type { Group } from "./protocol.js"
import { speed } from "./ratios.js"
import type { Summary } from "./stats.js"
import type { Verdict } from "./targets.js"

const WIDTH = 1150
const LABEL = 520
const BAR_AREA = WIDTH - LABEL - 90
const ROW = 20
const PANEL_HEAD = 40

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/`/g, "")

interface Row {
  readonly name: string
  readonly r: Summary | undefined
  readonly isBase: boolean
}

interface Panel {
  readonly title: string
  readonly rows: ReadonlyArray<Row>
}

const shorten = (s: string, max = 80) => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/** A group: every alternative's speed per task against the group's baseline. */
const groupPanel = (g: Group): Panel => ({
  title: `${esc(g.title)} — speed vs ${esc(g.baseline)} (right is faster)`,
  rows: g.alternatives.map((a) => ({ name: a.name, r: speed(g, a.name, g.baseline), isBase: a.name === g.baseline }))
})

/**
 * The targets: each bar is how far the run is from its target (value ÷ threshold, or threshold
 * ÷ value for "at most" targets), so right of 1× is met whatever the target's direction.
 */
const targetsPanel = (verdicts: ReadonlyArray<Verdict>): Panel => ({
  title: "Targets — right of 1× is met (value ÷ target, inverted for \"at most\" targets)",
  rows: verdicts.map((v) => {
    const score = (x: number | undefined) =>
      x === undefined ? undefined : v.better === "higher" ? x / v.threshold : v.threshold / x
    const median = score(v.value)
    const a = score(v.min)
    const b = score(v.max)
    return {
      name: shorten(`${v.scenario}: ${v.label.replace(/^supervisor /, "")}`),
      r: median === undefined ? undefined : { median, min: Math.min(a!, b!), max: Math.max(a!, b!) },
      isBase: false
    }
  })
})

/** One log scale for every panel, so bars compare across panels; ratios outside it are clipped. */
const LO = 0.05
const HI = 20
const TICKS = [0.1, 0.25, 0.5, 1, 2, 4, 10]
const x = (v: number) =>
  LABEL + ((Math.log(Math.min(Math.max(v, LO), HI)) - Math.log(LO)) / (Math.log(HI) - Math.log(LO))) * BAR_AREA

const draw = (p: Panel, top: number): { svg: string; height: number } => {
  const bottom = top + PANEL_HEAD + p.rows.length * ROW
  const parts: Array<string> = [`<text x="8" y="${top + 18}" font-weight="bold" font-size="13">${p.title}</text>`]
  for (const t of TICKS) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top + PANEL_HEAD - 2}" y2="${bottom}" ` +
        `stroke="${t === 1 ? "#c53030" : "#ddd"}"${t === 1 ? " stroke-dasharray=\"4 3\"" : ""}/>`,
      `<text x="${x(t).toFixed(1)}" y="${
        top + PANEL_HEAD - 5
      }" font-size="9" fill="#888" text-anchor="middle">${t}×</text>`
    )
  }
  p.rows.forEach((row, i) => {
    const y = top + PANEL_HEAD + i * ROW
    parts.push(`<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end" font-size="12">${esc(row.name)}</text>`)
    if (row.r === undefined) return
    const fill = row.isBase ? "#9e9e9e" : row.name.toLowerCase().includes("supervisor") ? "#2b6cb0" : "#8fb3d9"
    // Bars grow from 1× (left: slower/smaller, right: faster/bigger).
    const a = Math.min(x(1), x(row.r.median))
    const b = Math.max(x(1), x(row.r.median))
    parts.push(
      `<rect x="${a.toFixed(1)}" y="${y + 4}" width="${Math.max(b - a, 1).toFixed(1)}" height="${
        ROW - 8
      }" fill="${fill}"/>`,
      `<line x1="${x(row.r.min).toFixed(1)}" x2="${x(row.r.max).toFixed(1)}" y1="${y + 10}" y2="${y + 10}" ` +
        `stroke="#333" stroke-width="1"/>`,
      `<text x="${(WIDTH - 8).toFixed(1)}" y="${y + 13}" font-size="11" text-anchor="end">${
        row.r.median.toFixed(2)
      }×</text>`
    )
  })
  return { svg: parts.join("\n"), height: bottom - top + 12 }
}

export const svgChart = (
  m: Machine,
  groups: ReadonlyArray<Group>,
  verdicts: ReadonlyArray<Verdict>
): string => {
  const layout: Array<Panel> = [targetsPanel(verdicts), ...groups.map(groupPanel)]
  const panels: Array<string> = []
  let top = 40
  for (const p of layout) {
    const drawn = draw(p, top)
    panels.push(drawn.svg)
    top += drawn.height
  }
  const height = top + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `font-family="system-ui, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="16" font-size="12" fill="#555">${
      esc(
        `effect-supervisor benchmarks · ${
          m.date.slice(0, 16)
        }Z · ${m.source} · Node ${m.node} · ${m.cpus} CPUs · load ${m.loadAvgStart[0]}–${m.loadAvgEnd[0]}`
      )
    }</text>`,
    `<text x="8" y="31" font-size="11" fill="#555">bars: median ratio, same run; whiskers: min–max; log scale</text>`,
    ...panels,
    `</svg>`
  ].join("\n")
}

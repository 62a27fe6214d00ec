/**
 * Reads a `.cpuprofile` (from `node --cpu-prof`) and says where the time went: by area
 * (effect, our dist/, GC, node internals, …) and by function (self or inclusive time, grouped by
 * function and source line).
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly children?: ReadonlyArray<number>
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Which part of the stack a frame belongs to. */
const areaOf = (node: Node): string => {
  const { functionName, url } = node.callFrame
  if (functionName === "(garbage collector)") return "GC"
  if (functionName === "(idle)" || functionName === "(program)") return functionName
  if (url.includes("node_modules/effect/")) return "effect"
  if (url.includes("/dist/")) return "effect-supervisor (dist/)"
  if (url.includes("node_modules/")) return url.split("node_modules/").pop()!.split("/")[0]!
  if (url.startsWith("node:")) return "node internals"
  if (url === "") return "native / VM"
  return "benchmark code"
}

const keyOf = (node: Node): string => {
  const frame = node.callFrame
  // The package-relative path says enough: "effect/dist/esm/internal/fiberRuntime.js:1234".
  const url = frame.url.includes("node_modules/")
    ? frame.url.split("node_modules/").pop()!
    : frame.url.includes("/dist/")
    ? `dist/${frame.url.split("/dist/").pop()!}`
    : frame.url.split("/").slice(-2).join("/")
  return `${frame.functionName || "(anonymous)"}  ${url}:${frame.lineNumber + 1}`
}

const percent = (part: number, total: number) => `${((part / total) * 100).toFixed(1).padStart(5)}%`

const sorted = (m: Map<string, number>, count: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, count)

/** Lines of text: self time by area, then the top `count` functions by self and by inclusive time. */
export const describeProfile = (file: string, count: number): Array<string> => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const areas = new Map<string, number>()
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const leaf = byId.get(id)!
    if (leaf.callFrame.functionName === "(idle)") return
    total += dt
    areas.set(areaOf(leaf), (areas.get(areaOf(leaf)) ?? 0) + dt)
    self.set(keyOf(leaf), (self.get(keyOf(leaf)) ?? 0) + dt)
    // Inclusive time credits each function on the sampled stack once.
    const keys = new Set<string>()
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) keys.add(keyOf(byId.get(n)!))
    for (const key of keys) inclusive.set(key, (inclusive.get(key) ?? 0) + dt)
  })
  return [
    `busy time sampled: ${(total / 1000).toFixed(0)} ms (idle excluded)`,
    "self time by area:",
    ...sorted(areas, 20).map(([k, v]) => `${percent(v, total)}  ${k}`),
    `top ${count} functions by self time:`,
    ...sorted(self, count).map(([k, v]) => `${percent(v, total)}  ${k}`),
    `top ${count} functions by inclusive time:`,
    ...sorted(inclusive, count).map(([k, v]) => `${percent(v, total)}  ${k}`)
  ]
}

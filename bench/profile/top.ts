/**
 * Prints the functions with the most self time in the newest .cpuprofile of a directory,
 * grouped by function and source line — enough to see which ops a path pays per task.
 * `--inclusive` credits every function on the sampled stack (total time) instead of the leaf.
 * Usage: tsx bench/profile/top.ts DIR [count] [--inclusive]
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

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

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const inclusive = process.argv.includes("--inclusive")
const dir = args[0] ?? "."
const count = Number(args[1] ?? 30)
const newest = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
if (newest === undefined) throw new Error(`no .cpuprofile in ${dir}`)
const profile = JSON.parse(readFileSync(newest, "utf8")) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const keyOf = (node: Node): string => {
  const frame = node.callFrame
  // Keep the package-relative path: "effect/dist/esm/internal/fiberRuntime.js" says enough.
  const url = frame.url.includes("node_modules/")
    ? frame.url.split("node_modules/").pop()!
    : frame.url.split("/").slice(-2).join("/")
  return `${frame.functionName || "(anonymous)"}  ${url}:${frame.lineNumber + 1}`
}

const time = new Map<string, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  // Self time credits the leaf; inclusive time credits each function on the stack once.
  const keys = new Set<string>()
  for (let n: number | undefined = id; n !== undefined; n = inclusive ? parent.get(n) : undefined) {
    keys.add(keyOf(byId.get(n)!))
  }
  for (const key of keys) time.set(key, (time.get(key) ?? 0) + dt)
})
for (const [key, us] of [...time].sort((a, b) => b[1] - a[1]).slice(0, count)) {
  process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`)
}

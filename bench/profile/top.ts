/**
 * Prints the functions with the most self time in the newest .cpuprofile of a directory,
 * grouped by function and source line — enough to see which ops a path pays per task.
 * Usage: tsx bench/profile/top.ts DIR [count]
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const dir = process.argv[2] ?? "."
const count = Number(process.argv[3] ?? 30)
const newest = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
if (newest === undefined) throw new Error(`no .cpuprofile in ${dir}`)
const profile = JSON.parse(readFileSync(newest, "utf8")) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)!.callFrame
  // Keep the package-relative path: "effect/dist/esm/internal/fiberRuntime.js" says enough.
  const url = frame.url.includes("node_modules/")
    ? frame.url.split("node_modules/").pop()!
    : frame.url.split("/").slice(-2).join("/")
  const key = `${frame.functionName || "(anonymous)"}  ${url}:${frame.lineNumber + 1}`
  const dt = profile.timeDeltas[i] ?? 0
  self.set(key, (self.get(key) ?? 0) + dt)
  total += dt
})
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
  process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`)
}

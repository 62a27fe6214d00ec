/**
 * Compiles src/ and bench/ with tsc into bench/results/tmp/build (see paths.ts for why the
 * scenarios run compiled) and copies the plain .mjs files tsc does not emit (thread entries).
 * Type errors are reported but do not stop the run: tsc still emits, and a half-finished
 * change elsewhere in src/ should not block measuring what compiles.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative } from "node:path"

const copyMjs = (root: string, from: string, to: string): void => {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== "results" && entry.name !== "node_modules") copyMjs(root, path, to)
    } else if (entry.name.endsWith(".mjs")) {
      const target = join(to, relative(root, path))
      mkdirSync(dirname(target), { recursive: true })
      copyFileSync(path, target)
    }
  }
}

/** Builds and returns the output directory (mirrors the repository: build/bench, build/src). */
export const build = (repoRoot: string, log: (line: string) => void): string => {
  const out = join(repoRoot, "bench/results/tmp/build")
  rmSync(out, { recursive: true, force: true })
  const tsc = createRequire(join(repoRoot, "package.json")).resolve("typescript/bin/tsc")
  const result = spawnSync(process.execPath, [tsc, "-p", join(repoRoot, "bench/tsconfig.json")], { encoding: "utf8" })
  if (result.status !== 0) log(`tsc reported errors (output still emitted):\n${result.stdout}${result.stderr}`)
  for (const dir of ["src", "bench"]) copyMjs(repoRoot, join(repoRoot, dir), out)
  return out
}

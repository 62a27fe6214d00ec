/**
 * Builds what the samples run: the package as a user gets it (`npm run build` → dist/, which
 * the samples import as `effect-supervisor` through the package's own `exports`), and the
 * sample programs compiled by tsc into bench/results/tmp/build with the plain .mjs thread
 * files copied next to them. Compiled, not through tsx: tsx compiles with esbuild's
 * `keepNames`, which wraps every named closure in a `__name(…)` call — measured at ~20% of the
 * supervisor's submit path, a cost no user of the published JS pays.
 * The demo is bundled as `npm run demo` bundles it (scripts/build-demo.mjs → build/demo/).
 * A failing build throws: there is nothing meaningful to measure.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

const run = (command: string, args: ReadonlyArray<string>, cwd: string): void => {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`)
  }
}

/** Builds and returns the directory holding the compiled samples (build/samples/*.js). */
export const build = (repoRoot: string): string => {
  run("npm", ["run", "build"], repoRoot)
  run(process.execPath, [join(repoRoot, "scripts/build-demo.mjs")], repoRoot)
  const out = join(repoRoot, "bench/results/tmp/build")
  rmSync(out, { recursive: true, force: true })
  const tsc = createRequire(join(repoRoot, "package.json")).resolve("typescript/bin/tsc")
  run(process.execPath, [tsc, "-p", join(repoRoot, "bench/tsconfig.json")], repoRoot)
  const samples = join(repoRoot, "bench/samples")
  mkdirSync(join(out, "samples"), { recursive: true })
  for (const file of readdirSync(samples).filter((f) => f.endsWith(".mjs"))) {
    copyFileSync(join(samples, file), join(out, "samples", file))
  }
  return join(out, "samples")
}

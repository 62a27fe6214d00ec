// Builds the checksums demo as a program ships: one bundled .mjs file for the main thread and
// one for the worker threads (build/demo/checksums.mjs, build/demo/checksums/worker.mjs),
// bundling the built package (dist/: run `npm run build` first) and Effect.
//
//   node scripts/build-demo.mjs [--source] [--outdir dir]
//
// --source bundles src/ instead of dist/ (through tsconfig.json's paths; the tests use it, so
// they need no build); --outdir writes elsewhere than build/demo.
//
// Why bundle: a bundle is parsed once where an unbundled import of Effect resolves and reads
// ~500 module files in every thread, and it leaves out what is never called (effect/Schema
// imports all of fast-check for its arbitraries). Measured on /usr/share/doc, 2 threads, this
// box: 0.43 s and 121 MB bundled, 1.0 s and 168 MB as unbundled .js, 1.8 s and 280 MB under tsx.
// Not minified (stack traces keep their names): minifying saved ~10 ms and 8 MB.
import { build } from "esbuild"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const { values } = parseArgs({ options: { source: { type: "boolean" }, outdir: { type: "string" } } })
const root = fileURLToPath(new URL("..", import.meta.url))
if (!values.source && !existsSync(`${root}dist/index.js`)) {
  console.error("build-demo: dist/ is missing: run `npm run build` first")
  process.exit(1)
}
await build({
  absWorkingDir: root,
  entryPoints: ["examples/checksums.ts", "examples/checksums/worker.ts"],
  outbase: "examples",
  outdir: values.outdir ?? "build/demo",
  outExtension: { ".js": ".mjs" },
  // tsconfig.build.json has no paths: "effect-supervisor" resolves to dist/ through exports
  tsconfig: values.source ? "tsconfig.json" : "tsconfig.build.json",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning"
})

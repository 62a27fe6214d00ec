/**
 * A profiling target: runs one supervisor path of scenario 1 six times, so
 * `node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/profile/target.ts submit sync`
 * yields a profile dominated by the steady state. Then: `tsx bench/profile/top.ts DIR`.
 * Paths: submit | submitAll | execute8 | execute1024 | run; variants: sync | async.
 */
import { parseVariant, range } from "../throughput/handlers.js"
import * as sup from "../throughput/supervisor.js"

const path = process.argv[2] ?? "submit"
const variant = parseVariant(process.argv[3])
const runners = {
  submit: sup.submitLoop(variant),
  submitAll: sup.submitAll(variant),
  execute8: sup.execute(variant, 8),
  execute1024: sup.execute(variant, 1024),
  run: sup.run(variant)
} as const
const runner = runners[path as keyof typeof runners]
if (runner === undefined) throw new Error(`unknown path ${path}`)
const items = range(200_000)
for (let i = 0; i < 6; i++) {
  const start = performance.now()
  await runner(items)
  process.stderr.write(`${path} ${variant}: ${(performance.now() - start).toFixed(0)} ms\n`)
}

/**
 * Profiling target for the supervisor Threads echo path (main thread side):
 * `node --cpu-prof --cpu-prof-dir=DIR bench/results/tmp/build/bench/profile/threads-target.js`
 * (after a `npm run bench` build), then `tsx bench/profile/top.ts DIR 40 --inclusive`.
 */
import { supervisorThreads } from "../threads/supervisor.js"

const alt = await supervisorThreads()
const xs = Array.from({ length: 20_000 }, (_, i) => i)
for (let i = 0; i < 6; i++) {
  const start = performance.now()
  await alt.runAll("echo", xs)
  process.stderr.write(`echo: ${(performance.now() - start).toFixed(0)} ms\n`)
}
await alt.close()

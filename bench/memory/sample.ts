/**
 * One memory sample in a fresh process (node --expose-gc): warm the alternative up, collect,
 * then stream N tasks and report peak heap/RSS growth. A fresh process per sample because RSS
 * never shrinks back within a process, so a second run in the same process would read low.
 * Usage: node --expose-gc --import tsx bench/memory/sample.ts <alternative> <n> <warmupN>
 */
import { writeFileSync } from "node:fs"
import { Peak } from "./peak.js"
import { STREAMS } from "./streams.js"

const [name, nArg, warmArg] = process.argv.slice(2)
const stream = STREAMS[name ?? ""]
if (stream === undefined) throw new Error(`unknown alternative ${name}`)
const n = Number(nArg)
const warm = Number(warmArg)

const check = (total: number, size: number) => {
  if (total !== size * (size - 1)) throw new Error(`${name}: wrong sum ${total} for ${size}`)
}

check(await stream(warm, undefined), warm)
const peak = new Peak()
const start = performance.now()
check(await stream(n, peak), n)
const ms = performance.now() - start
writeFileSync(process.env.SAMPLE_OUT!, JSON.stringify({ ...peak.stop(), ms }))

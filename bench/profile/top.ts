/**
 * Where the time goes in a CPU profile: `tsx bench/profile/top.ts FILE|DIR [count]` (a DIR: its
 * newest .cpuprofile). `npm run bench -- --profile=SCENARIO:ALTERNATIVE` records one and prints
 * this for you.
 */
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { describeProfile } from "../lib/profile.js"

const [target = ".", count = "25"] = process.argv.slice(2)
const file = statSync(target).isDirectory()
  ? readdirSync(target)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(target, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  : target
if (file === undefined) throw new Error(`no .cpuprofile in ${target}`)
process.stdout.write(`${describeProfile(file, Number(count)).join("\n")}\n`)

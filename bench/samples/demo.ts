/**
 * The demo against `sha256sum`, whole runs of external processes: the demo as `npm run demo`
 * runs it (`node build/demo/checksums.mjs DIR --threads N`, the bundle the harness builds
 * beforehand, as `npm run demo` does before it runs), the same from source under tsx
 * (`tsx examples/checksums.ts`, informative), and `sha256sum` over the same files. Wall time
 * is measured here around the process; CPU and peak RSS of the process tree come from GNU
 * `/usr/bin/time` (the kernel's rusage of the waited-for children). Both outputs are checked
 * against a reference made once per directory by `sha256sum` (every hash must match).
 *
 * Params: root (the repository), dir, threads, tmp (a scratch directory for the reference).
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import type { Dirent } from "node:fs"
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative, sep } from "node:path"
import type { Sample } from "../lib/protocol.js"
import type { Params } from "../lib/sample.js"
import { main, num, str } from "../lib/sample.js"

/** The demo's own walk: regular files only (no symbolic links), these names skipped. */
const SKIP = new Set(["node_modules", ".git", "dist"])

const walk = (root: string): Array<string> => {
  const files: Array<string> = []
  const visit = (dir: string) => {
    let entries: Array<Dirent>
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name)) visit(path)
      } else if (entry.isFile()) files.push(relative(root, path).split(sep).join("/"))
    }
  }
  visit(root)
  return files.sort()
}

interface Ran {
  readonly stdout: string
  readonly sample: Sample
}

/** Runs `command` under GNU time; throws on a non-zero exit (with its stderr). */
const timedProcess = (command: ReadonlyArray<string>, cwd: string, tmp: string): Promise<Ran> => {
  const timeFile = join(tmp, `time-${process.pid}.txt`)
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, ...command], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", reject)
    child.on("close", (code) => {
      const ms = performance.now() - t0
      if (code !== 0) {
        return reject(new Error(`${command.join(" ")} exited with ${code}: ${Buffer.concat(err).toString()}`))
      }
      const [user, system, maxKB] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number)
      rmSync(timeFile, { force: true })
      resolve({
        stdout: Buffer.concat(out).toString(),
        sample: { ms, cpuMs: (user! + system!) * 1000, rssMB: maxKB! / 1024 }
      })
    })
  })
}

/** `hex  path` lines as a map; sha256sum escapes odd names with a leading backslash: skipped. */
const parse = (stdout: string): Map<string, string> =>
  new Map(
    stdout.split("\n").filter((line) => line.length > 66 && !line.startsWith("\\")).map((line) => [
      line.slice(66),
      line.slice(0, 64)
    ])
  )

type Command = (params: Params, dir: string, files: ReadonlyArray<string>) => Array<string>

const sha256sum: Command = (_params, _dir, files) => ["sha256sum", "--", ...files]

const demoArgs = (params: Params, dir: string) => [dir, "--threads", String(num(params, "threads"))]

const demo: Command = (params, dir) => [
  process.execPath,
  join(str(params, "root"), "build/demo/checksums.mjs"),
  ...demoArgs(params, dir)
]

const demoTsx: Command = (params, dir) => {
  const root = str(params, "root")
  return [join(root, "node_modules/.bin/tsx"), join(root, "examples/checksums.ts"), ...demoArgs(params, dir)]
}

/** The reference hashes of `dir`, made once (untimed) and kept in `tmp`. */
const reference = async (dir: string, files: ReadonlyArray<string>, tmp: string): Promise<Map<string, string>> => {
  const file = join(tmp, `sha256-${createHash("sha256").update(dir).digest("hex").slice(0, 16)}.txt`)
  if (!existsSync(file)) writeFileSync(file, (await timedProcess(sha256sum({}, dir, files), dir, tmp)).stdout)
  return parse(readFileSync(file, "utf8"))
}

const check = (name: string, got: Map<string, string>, want: Map<string, string>) => {
  if (got.size !== want.size) throw new Error(`${name}: ${got.size} hashes, expected ${want.size}`)
  for (const [path, hex] of want) {
    if (got.get(path) !== hex) throw new Error(`${name}: wrong or missing hash for ${path}`)
  }
}

const run = (name: string, command: Command) => async (params: Params) => {
  const dir = str(params, "dir")
  const tmp = str(params, "tmp")
  const files = walk(dir)
  if (files.length === 0) throw new Error(`${dir} has no files`)
  const want = await reference(dir, files, tmp)
  const ran = await timedProcess(command(params, dir, files), dir, tmp)
  check(name, parse(ran.stdout), want)
  return ran.sample
}

await main({
  sha256sum: run("sha256sum", sha256sum),
  demo: run("demo", demo),
  "demo-tsx": run("demo under tsx", demoTsx)
})

// Completes package-lock.json with the platform-specific optional packages (other OSes and
// CPUs) that this machine's npm registry does not serve. Without those entries `npm ci`
// refuses the lockfile ("Missing: @rollup/rollup-android-arm64@ from lock file"); with them it
// skips the packages as platform-incompatible, as it does on any machine.
//
// Run after every `npm install` that rewrites package-lock.json: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs"

const path = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(path, "utf8"))
const packages = lock.packages

const platform = (name) => {
  const os = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "sunos", "aix", "netbsd"]
    .find((candidate) => name.includes(`-${candidate}-`))
  const cpu = ["arm64", "x64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "mips64el", "arm"]
    .find((candidate) => new RegExp(`-${candidate}(-|$)`).test(name.replace(/^.*\//, "-")))
  const libc = /-musl/.test(name) ? "musl" : os === "linux" && /-gnu/.test(name) ? "glibc" : undefined
  return { os, cpu, libc }
}

let added = 0
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = location === "" ? "node_modules" : `${location.replace(/\/node_modules\/[^/]+(\/[^/]+)?$/, "")}/node_modules`
    const hoisted = `node_modules/${name}`
    if (packages[hoisted] !== undefined || packages[`${base}/${name}`] !== undefined) continue
    const { cpu, libc, os } = platform(name)
    if (os === undefined || cpu === undefined) continue // not a platform package: leave it to npm
    packages[hoisted] = {
      version: range.replace(/^[~^=]/, ""),
      cpu: [cpu],
      ...(libc === undefined ? {} : { libc: [libc] }),
      optional: true,
      os: [os]
    }
    added++
  }
}

const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)))
lock.packages = sorted
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n")
console.log(`package-lock.json: ${added} platform packages recorded`)

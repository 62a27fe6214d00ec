// Copies the non-TypeScript files of src/ that the library loads at run time into dist/
// (tsc only emits .ts sources). Portable: plain Node, no shell.
import { copyFileSync, mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const assets = ["internal/threads/tsx-entry.mjs"]

for (const asset of assets) {
  const to = join(root, "dist", asset)
  mkdirSync(dirname(to), { recursive: true })
  copyFileSync(join(root, "src", asset), to)
}

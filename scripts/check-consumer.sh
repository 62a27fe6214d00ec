#!/usr/bin/env bash
# Installs the packed tarball into fresh consumer projects, as a user would, and checks that
# - the core (root entry and every core subpath) loads and typechecks with only `effect` and
#   `@effect/platform` installed — no `@effect/platform-node`;
# - a consumer install holds exactly one copy of `effect` (`npm ls effect`);
# - `effect-supervisor/threads` loads once the optional peer `@effect/platform-node` is added;
# - `effect-supervisor/durable` runs a job on PostgreSQL with `@effect/sql` and `@effect/sql-pg`
#   only (no `@effect/sql-sqlite-node`), and `layerSqlite` then says which peer is missing;
# - the README's images are in the package;
# - Effect 4 is refused at install time by the peer range instead of nesting a second copy.
# Usage: scripts/check-consumer.sh (run from anywhere; builds through `npm pack`'s prepack).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
effect_version="$(node -p 'require(process.argv[1]).devDependencies.effect' "$root/package.json")"
platform_node_version="$(node -p 'require(process.argv[1]).devDependencies["@effect/platform-node"]' "$root/package.json")"
sql_version="$(node -p 'require(process.argv[1]).devDependencies["@effect/sql"]' "$root/package.json")"
sql_pg_version="$(node -p 'require(process.argv[1]).devDependencies["@effect/sql-pg"]' "$root/package.json")"

echo "-- npm pack"
tarball="$work/$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
npm_install() { npm install --no-audit --no-fund --loglevel=error "$@"; }

one_effect() {
  local copies
  copies="$(npm ls effect --all --parseable | sort -u | wc -l)"
  if [ "$copies" != "1" ]; then
    echo "expected exactly one copy of effect, found $copies:"
    npm ls effect --all
    exit 1
  fi
}

echo "-- consumer without @effect/platform-node"
mkdir "$work/core" && cd "$work/core"
npm init -y >/dev/null
npm pkg set type=module
npm_install "$tarball" "effect@$effect_version"
one_effect
if [ -e node_modules/@effect/platform-node ]; then
  echo "@effect/platform-node was installed, but only effect-supervisor/threads needs it"
  exit 1
fi
# every image the published README shows must be in the package (a relative path) or absolute
node -e '
  const fs = require("fs")
  const dir = "node_modules/effect-supervisor/"
  const images = [...fs.readFileSync(dir + "README.md", "utf8").matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1])
  const missing = images.filter((src) => !/^https:\/\//.test(src) && !fs.existsSync(dir + src))
  if (missing.length > 0) { console.error("README images not in the package:", missing); process.exit(1) }
  console.log(`README images in the package: ${images.join(", ")}`)
'
cat >core.ts <<'EOF'
import { Effect } from "effect"
import { Errors, Outcome, Restart, Supervisor } from "effect-supervisor"
import * as Direct from "effect-supervisor/Supervisor"
import * as DirectErrors from "effect-supervisor/Errors"
import * as DirectOutcome from "effect-supervisor/Outcome"
import * as DirectRestart from "effect-supervisor/Restart"

const summary = await Effect.runPromise(Supervisor.run([1, 2, 3], {
  workers: 2,
  handler: (n: number) => Effect.succeed(n * n),
  initial: 0,
  combine: (sum, square) => sum + square,
  restart: Restart.policy({ maxRestarts: 1 })
}))
const same = Direct.make === Supervisor.make && DirectErrors.Escalated === Errors.Escalated &&
  DirectOutcome.match === Outcome.match && DirectRestart.policy === Restart.policy
if (summary.state !== 14 || !same) throw new Error(`unexpected: ${summary.state} ${same}`)
console.log("core loads without @effect/platform-node: sum of squares", summary.state)
EOF
cat >tsconfig.json <<'EOF'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
  "strict": true, "exactOptionalPropertyTypes": true, "noEmit": true, "skipLibCheck": false,
  "types": [] }, "files": ["core.ts"] }
EOF
"$root/node_modules/.bin/tsc" -p tsconfig.json
"$root/node_modules/.bin/tsc" -p tsconfig.json --outDir out --noEmit false --sourceMap false
node out/core.js

echo "-- consumer with the optional peer for effect-supervisor/threads"
npm_install "@effect/platform-node@$platform_node_version"
one_effect
node --input-type=module -e '
  const { Threads, ThreadRunner } = await import("effect-supervisor/threads")
  if (typeof Threads.resource !== "function" || typeof ThreadRunner.serve !== "function") process.exit(1)
  console.log("effect-supervisor/threads loads with @effect/platform-node")
'

echo "-- effect-supervisor/durable with one backend installed (PostgreSQL)"
npm_install "@effect/sql@$sql_version" "@effect/sql-pg@$sql_pg_version"
one_effect
if [ -e node_modules/@effect/sql-sqlite-node ]; then
  echo "@effect/sql-sqlite-node was installed, but only Durable.layerSqlite needs it"
  exit 1
fi
DURABLE_PG_URL="${DURABLE_PG_URL:-postgres://postgres@127.0.0.1:5432/test}" node --input-type=module -e '
  const { Effect, Schema } = await import("effect")
  const { Durable } = await import("effect-supervisor/durable")
  const Squares = Durable.queue("squares", {
    task: Schema.Number, success: Schema.Number, failure: Schema.Never, maxAttempts: 1, lease: "5 seconds"
  })
  const table = `consumer_check_${process.pid}`
  const square = Effect.scoped(Effect.gen(function*() {
    const squares = yield* Durable.producer(Squares)
    const id = yield* squares.offer(7)
    yield* Durable.consumer({ queue: Squares, workers: 1, timeout: "5 seconds", handler: (n) => Effect.succeed(n * n) })
    return (yield* squares.await(id)).result
  })).pipe(Effect.provide(Durable.layerPg({ url: process.env.DURABLE_PG_URL, table })))
  const result = await Effect.runPromise(square)
  const pg = (await import("@effect/sql-pg")).PgClient
  const { Redacted } = await import("effect")
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sql = yield* pg.PgClient
    yield* sql.unsafe(`DROP TABLE ${table}`)
    yield* sql.unsafe(`DROP FUNCTION ${table}_notify()`)
  })).pipe(Effect.provide(pg.layer({ url: Redacted.make(process.env.DURABLE_PG_URL) }))))
  if (result !== 49) throw new Error(`unexpected result ${result}`)
  const missing = await Effect.runPromise(Effect.flip(Effect.provide(Durable.producer(Squares), Durable.layerSqlite({ file: "x.db" }))))
  if (!missing.message.startsWith("@effect/sql-sqlite-node is not installed")) throw new Error(missing.message)
  console.log("effect-supervisor/durable runs on PostgreSQL without @effect/sql-sqlite-node:", result)
'

echo "-- Effect 4 is refused by the peer range"
mkdir "$work/v4" && cd "$work/v4"
npm init -y >/dev/null
if npm_install "$tarball" "effect@^4" >install.log 2>&1; then
  echo "npm installed effect-supervisor next to effect 4; the peer range should refuse it"
  exit 1
fi
grep -q ERESOLVE install.log
echo "npm refuses effect 4 (ERESOLVE)"

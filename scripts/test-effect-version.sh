#!/usr/bin/env bash
# Runs the typecheck and the tests against another supported version of effect (and the
# Effect packages that pair with it), in a temporary copy of the repository, so the working
# tree and its lockfile stay untouched. The specs must include an exact `effect@<version>`.
# Usage: scripts/test-effect-version.sh <package@version>… -- [vitest args…]
# e.g.   scripts/test-effect-version.sh effect@3.22.0 @effect/platform@0.97.0 -- test/Outcome.test.ts
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
specs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do specs+=("$1"); shift; done
[ $# -gt 0 ] && shift
effect=""
for spec in "${specs[@]}"; do
  case "$spec" in effect@*) effect="${spec#effect@}" ;; esac
done
[ -n "$effect" ] || { echo "name an exact effect@<version> among the packages"; exit 2; }
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT

cd "$root"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy"
cp -a node_modules "$copy/"
cd "$copy"
# saved into the copy's package.json, so `npm ls` checks the tree against these versions
npm install --no-audit --no-fund --loglevel=error "${specs[@]}"
installed="$(node -p 'require("effect/package.json").version')"
if [ "$installed" != "$effect" ]; then
  echo "expected effect $effect, found $installed"
  exit 1
fi
copies="$(npm ls effect --all --parseable | sort -u | wc -l)"
if [ "$copies" != "1" ]; then
  echo "expected one copy of effect, found $copies"
  npm ls effect --all
  exit 1
fi
echo "-- effect $installed, @effect/platform $(node -p 'require("@effect/platform/package.json").version')"
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"

#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, then every test file under src/ and test/ with Node's test runner.
# Extra arguments are passed to `node --test` (for example a single file).
set -euo pipefail
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh --test --quiet
export PATH="$root/.tools/bin:$PATH"
echo "test: type check"
scripts/node node_modules/typescript/bin/tsc --noEmit -p .
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=('src/**/*.test.ts' 'test/**/*.test.ts')
fi
echo "test: node --test"
exec scripts/node --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"

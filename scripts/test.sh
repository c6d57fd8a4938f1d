#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, then every test file under src/ and test/ with Node's test runner.
# Extra arguments are passed to `node --test` (for example a single file).
# A skipped or todo test fails the run: a test that cannot run where it should (not root, a tool missing) must fail,
# not skip. The spec output stays as usual; scripts/test-gate.mjs lists the skipped ones.
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
gate=$(mktemp)
trap 'rm -f "$gate"' EXIT
status=0
scripts/node --test --test-concurrency=2 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/test-gate.mjs --test-reporter-destination="$gate" \
  "${files[@]}" || status=$?
if [ -s "$gate" ]; then
  echo "test: FAILED: $(wc -l <"$gate") test(s) skipped or todo; every test must run (see README: the suite runs as root):" >&2
  cat "$gate" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"

#!/bin/bash
# Readiness check the CLI runs over SSH: exits 0 and prints "ready" once the bootstrap has finished.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/crabbox/bootstrap.env
fail() { echo "not ready: $*" >&2; exit 1; }
[ -f /var/lib/crabbox/ready ] || fail "bootstrap has not finished"
for tool in git rsync curl jq; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done
if [ ! -d "$CRABBOX_WORK_ROOT" ] || [ ! -w "$CRABBOX_WORK_ROOT" ]; then
  fail "$CRABBOX_WORK_ROOT is not writable"
fi
echo ready

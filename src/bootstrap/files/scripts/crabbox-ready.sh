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
work=$CRABBOX_WORK_ROOT
# The lease's own user (docs/bootstrap.md) works in its own workdir.
if [ -n "${CRABBOX_LEASE_USER:-}" ] && [ "$(id -un)" = "$CRABBOX_LEASE_USER" ]; then work=/var/lib/crabbox/leases/$CRABBOX_LEASE_USER/work; fi
if [ ! -d "$work" ] || [ ! -w "$work" ]; then
  fail "$work is not writable"
fi
echo ready

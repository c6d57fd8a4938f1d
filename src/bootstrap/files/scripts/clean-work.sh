#!/bin/bash
# Boot-time cleanup: nothing under the Crabbox work root can be in use before sshd starts, so all of it is stale.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/crabbox/bootstrap.env
: "${CRABBOX_WORK_ROOT:?}"
case "$CRABBOX_WORK_ROOT" in
  /work/*) ;;
  *) echo "clean-work: refusing unexpected work root $CRABBOX_WORK_ROOT" >&2; exit 1 ;;
esac
[ -d "$CRABBOX_WORK_ROOT" ] || exit 0
find "$CRABBOX_WORK_ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +

#!/usr/bin/env bash
# Reference reader for crabbox's env block (format in wire.ts): reads it from stdin, exports each variable,
# then execs the command given as arguments. The rest of stdin is left for the command.
set -eu
IFS= read -r -d '' magic || { echo "crabbox: missing env block on stdin" >&2; exit 65; }
if [ "$magic" != "CBXENV1" ]; then
  echo "crabbox: unknown env block version" >&2
  exit 65
fi
complete=0
while IFS= read -r -d '' record; do
  if [ -z "$record" ]; then
    complete=1
    break
  fi
  if ! [[ $record =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
    echo "crabbox: malformed env block record" >&2
    exit 65
  fi
  export "$record"
done
if [ "$complete" != 1 ]; then
  echo "crabbox: truncated env block" >&2
  exit 65
fi
exec "$@"

#!/usr/bin/env bash
# crabbox-files: lists or reads files under a workdir on the box, for collecting test reports after a run.
# Request on stdin, NUL-terminated fields: "crabbox-files/1", workdir, "list" max-entries | "read" max-bytes path... "".
# list: prints each regular file's path relative to workdir, NUL-terminated (at most max-entries; .git and
#       node_modules are not entered).
# read: prints, per path, "<path>\0<size>\0" and then the first min(size, max-bytes) bytes of the file; a missing
#       or unreadable file has size "-".
set -u
export LC_ALL=C
F=""
field() { IFS= read -r -d '' F || exit 65; }
field; [ "$F" = "crabbox-files/1" ] || exit 65
field; workdir=$F
field; op=$F
field; limit=$F
case $limit in '' | *[!0-9]*) exit 65 ;; esac
cd -- "$workdir" 2>/dev/null || exit 0
if [ "$op" = list ]; then
  find . \( -name .git -o -name node_modules \) -prune -o -type f -print0 2>/dev/null | head -z -n "$limit" | sed -z 's|^\./||'
  exit 0
fi
[ "$op" = read ] || exit 65
tmp=$(mktemp) || exit 71
while field && [ -n "$F" ]; do
  case "/$F/" in //* | */../*) printf '%s\0-\0' "$F"; continue ;; esac
  # Copy first, so a file that changes while it is read cannot break the framing.
  if [ -f "$F" ] && [ -r "$F" ] && head -c "$limit" -- "$F" >"$tmp" 2>/dev/null; then
    printf '%s\0%s\0' "$F" "$(stat -c %s -- "$tmp")"
    cat -- "$tmp"
  else
    printf '%s\0-\0' "$F"
  fi
done
rm -f -- "$tmp"

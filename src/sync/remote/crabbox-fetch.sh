#!/usr/bin/env bash
# crabbox-fetch: the box side of `crabbox run --download` and `crabbox cp <lease>:<path>` (docs/artifacts.md).
# Request on stdin, NUL-terminated fields: "crabbox-fetch/1", workdir, max-entries, root count, roots (relative to
# the workdir). Answer on stdout:
#   1. the listing: one record per entry under the roots, "<kind><size> <path>" NUL-terminated, kind f (regular
#      file), l (symlink: never followed, never sent) or o (anything else); a root that is, or lies under, a symlink
#      is listed as one l record and not entered. At most max-entries records, then "+" if there were more; an
#      empty record ends the listing.
#   2. then it reads the CLI's selection (paths from the listing, an empty field ends it) and writes a GNU tar of
#      exactly those regular files to stdout. An empty selection ends the script.
set -u
export LC_ALL=C
F=""
field() { IFS= read -r -d '' F || exit 65; }
field; [ "$F" = "crabbox-fetch/1" ] || exit 65
field; workdir=$F
field; max=$F
field; n=$F
case $max$n in '' | *[!0-9]*) exit 65 ;; esac
roots=()
for ((i = 0; i < n; i++)); do field; roots+=("$F"); done
cd -- "$workdir" 2>/dev/null || { printf '\0'; exit 0; }

# True when no component of the relative path $1 is a symlink (so the path stays inside the workdir).
inside() {
  local rest=$1 prefix="" seg
  while [ -n "$rest" ]; do
    seg=${rest%%/*}; prefix=${prefix:+$prefix/}$seg
    [ -L "$prefix" ] && return 1
    if [ "$seg" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
  done
  return 0
}

{
  for root in "${roots[@]}"; do
    start=.
    if [ "$root" != . ]; then
      case "/$root/" in //* | */../* | */./*) continue ;; esac
      if ! inside "$root"; then printf 'l0 %s\0' "$root"; continue; fi
      [ -e "$root" ] || continue
      start="./$root"
    fi
    # -P: a symlink is listed as one, never followed; %y is its type letter.
    find -P "$start" -printf '%y%s %p\0' 2>/dev/null | sed -z -e 's|^\([a-z][0-9]* \)\./|\1|' -e 's|^d[0-9]* .*||' -e '/^$/d' \
      -e 's|^\([^fl]\)|o|'
  done
} | head -z -n "$((max + 1))" | {
  count=0
  while IFS= read -r -d '' rec; do
    count=$((count + 1))
    if [ "$count" -gt "$max" ]; then printf '+\0'; break; fi
    printf '%s\0' "$rec"
  done
  printf '\0'
}

list=$(mktemp) || exit 71
trap 'rm -f -- "$list"' EXIT
while field && [ -n "$F" ]; do
  case "/$F/" in //* | */../* | */./*) continue ;; esac
  printf '%s\0' "$F" >>"$list"
done
[ -s "$list" ] || exit 0
# Files that change or vanish while tar reads them are still framed correctly (tar pads or reports them).
tar -c -f - --format=gnu --null --no-recursion --verbatim-files-from -T "$list" 2>/dev/null
exit 0

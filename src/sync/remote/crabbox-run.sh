#!/usr/bin/env bash
# crabbox-run: the box side of `crabbox run`. The CLI sends this script and a request over the SSH channel's
# stdin (see docs/sync.md, "The wire protocol"); nothing secret ever reaches argv or a file.
#
# Request fields, each terminated by a NUL byte:
#   crabbox-run/1  workdir  metadir  fingerprint ("" = do not sync)  lock-wait-seconds  delete-limit (-1 = none)
#   mode (argv|shell)  argc  arg...
# then the env block of src/env/wire.ts: "CBXENV1", one NAME=value record per variable, an empty record.
# Messages to the CLI go to stdout as "\0crabbox:<word> <args>\n", only before the command starts and once after it
# ends ("exit <code>"); between them stdout and stderr belong to the command.
set -u
# The wrapper's own tools get a fixed locale and umask; the command gets the session's own back.
user_umask=$(umask)
if [ -n "${LC_ALL+set}" ]; then user_lc_all=$LC_ALL; fi
umask 022
export LC_ALL=C

say() { printf '\0crabbox:%s\n' "$*"; }
fail() { say "fail $*"; exit 1; }
field() { IFS= read -r -d '' F || fail "protocol truncated request"; }
int() { case $1 in '' | *[!0-9-]* | ?*-*) fail "protocol bad number"; esac; }

field; magic=$F
[ "$magic" = "crabbox-run/1" ] || fail "protocol unknown request ${magic:0:20}"
field; workdir=$F
field; metadir=$F
field; fingerprint=$F
field; lockwait=$F
field; deletelimit=$F
field; mode=$F
field; argc=$F
int "$lockwait"; int "$deletelimit"; int "$argc"
case $workdir in /*) ;; *) fail "protocol workdir must be absolute" ;; esac
case $metadir in /*) ;; *) fail "protocol metadir must be absolute" ;; esac
case $mode in argv | shell) ;; *) fail "protocol bad mode" ;; esac
args=()
for ((i = 0; i < argc; i++)); do field; args+=("$F"); done
field; [ "$F" = CBXENV1 ] || fail "protocol bad env block"
envs=()
while field && [ -n "$F" ]; do
  [[ $F =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "protocol bad env record"
  envs+=("$F")
done
[ "${#args[@]}" -gt 0 ] || fail "protocol empty command"

for tool in flock setsid sort comm head sha256sum stat xargs; do
  command -v "$tool" >/dev/null 2>&1 || fail "missing-tool $tool"
done
setsid_bin=$(command -v setsid); bash_bin=$(command -v bash)

mkdir -p -- "$workdir" "$metadir" || fail "workdir cannot create $workdir"
exec 8>>"$metadir/lock" || fail "workdir cannot open lock"
if ! flock -n 8; then
  say "waiting lock"
  flock -w "$lockwait" 8 || fail "busy another run holds this workspace"
fi
cd -- "$workdir" || fail "workdir cannot enter $workdir"

# A digest of the managed files' metadata, so a tree changed on the box (a command rewrote a file) is resynced.
tree_digest() {
  if [ -s "$metadir/manifest" ]; then
    xargs -0 stat --printf '%s %.9Y %i %f\n' -- <"$metadir/manifest" 2>&1 | sha256sum | cut -c1-64
  else
    printf 'empty\n'
  fi
}

# Deletes the managed paths in a NUL list, never through a symlinked parent, then prunes emptied directories.
delete_paths() {
  local p rest seg prefix safe
  local -a files=()
  local -A dirs=()
  while IFS= read -r -d '' p; do
    case "/$p/" in //* | */../* | */./* | *//*) continue ;; esac
    rest=${p%/*}; [ "$rest" = "$p" ] && rest=""
    prefix="" safe=1
    while [ -n "$rest" ]; do
      seg=${rest%%/*}; prefix=${prefix:+$prefix/}$seg
      if [ -L "$prefix" ] || { [ -e "$prefix" ] && [ ! -d "$prefix" ]; }; then safe=0; break; fi
      dirs[$prefix]=1
      if [ "$seg" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    done
    [ "$safe" = 1 ] && files+=("./$p")
  done <"$1"
  if [ "${#files[@]}" -gt 0 ]; then printf '%s\0' "${files[@]}" | xargs -0 rm -f -- || return 1; fi
  if [ "${#dirs[@]}" -gt 0 ]; then
    printf '%s\0' "${!dirs[@]}" | sort -z -r | xargs -0 rmdir --ignore-fail-on-non-empty -- 2>/dev/null
  fi
  return 0
}

sync_tree() {
  local len removed count
  rm -f -- "$metadir/fingerprint"
  say "need-sync"
  field; len=$F; int "$len"
  head -c "$len" >"$metadir/manifest.recv" || fail "sync cannot store manifest"
  [ "$(wc -c <"$metadir/manifest.recv")" -eq "$len" ] || fail "protocol manifest truncated"
  sort -z -u "$metadir/manifest.recv" >"$metadir/manifest.new" || fail "sync cannot sort manifest"
  [ -f "$metadir/manifest" ] || : >"$metadir/manifest"
  removed="$metadir/removed"
  sort -z -u "$metadir/manifest" | comm -z -23 - "$metadir/manifest.new" >"$removed" || fail "sync cannot compare manifests"
  count=$(tr -cd '\0' <"$removed" | wc -c)
  if [ "$deletelimit" -ge 0 ] && [ "$count" -gt "$deletelimit" ]; then
    say "sample $(head -z -n 20 "$removed" | wc -c)"
    head -z -n 20 "$removed"
    fail "too-many-deletes $count"
  fi
  delete_paths "$removed" || fail "sync cannot delete removed files"
  # Until this sync completes, every path of both manifests counts as managed, so a half-finished sync is undone next time.
  sort -z -u "$metadir/manifest" "$metadir/manifest.new" >"$metadir/manifest.tmp" && mv -f -- "$metadir/manifest.tmp" "$metadir/manifest"
  say "rsync $count"
  field; verdict=$F
  [ "$verdict" = ok ] || fail "aborted sync did not complete"
  mv -f -- "$metadir/manifest.new" "$metadir/manifest" || fail "sync cannot store manifest"
  rm -f -- "$metadir/manifest.recv" "$removed"
  printf '%s %s\n' "$fingerprint" "$(tree_digest)" >"$metadir/fingerprint.tmp" && mv -f -- "$metadir/fingerprint.tmp" "$metadir/fingerprint"
  say "synced"
}

if [ -n "$fingerprint" ]; then
  stored=""
  [ -f "$metadir/fingerprint" ] && IFS= read -r stored <"$metadir/fingerprint"
  if [ "$stored" = "$fingerprint $(tree_digest)" ]; then say "in-sync"; else sync_tree; fi
fi

# The login shell marks when it has read the profile: a signal that lands while bash is still sourcing it can be
# absorbed (bash keeps going when the profile's own child survives it), so signals are held until then.
ready="$metadir/ready"
rm -f -- "$ready"
# shellcheck disable=SC2016 # expanded by the command's own bash, not here
mark=': >"$CRABBOX_READY_FILE"; unset CRABBOX_READY_FILE'
if [ "$mode" = shell ]; then
  set -- -lc "$mark
${args[0]}"
else
  set -- -lc "$mark; exec \"\$@\"" crabbox "${args[@]}"
fi
# Announce the start before the command can write a byte: from here on, stdout belongs to the command.
say "start"
# The command gets its own session and process group; the forwarded env is exported only in its subshell.
(
  umask "$user_umask"
  if [ -n "${user_lc_all+set}" ]; then export LC_ALL="$user_lc_all"; else unset LC_ALL; fi
  for kv in "${envs[@]}"; do export "${kv?}"; done
  export CRABBOX_READY_FILE="$ready"
  # fd 8 is the workspace lock: only this wrapper holds it, so a process that escapes the group cannot keep it.
  exec "$setsid_bin" "$bash_bin" "$@" 8>&-
) </dev/null &
pid=$!
printf '%s\n' "$pid" >"$metadir/pgid"

# Signals from the CLI arrive as NUL-terminated words on stdin; end of stdin means the CLI or the connection is gone.
(
  while IFS= read -r -d '' word; do
    # Hold the signal until the command is past its login profile (or gone; bounded at 30 s).
    for ((i = 0; i < 3000; i++)); do
      if [ -e "$ready" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.01
    done
    case $word in INT | TERM | HUP | KILL) kill -s "$word" -- "-$pid" 2>/dev/null ;; esac
  done
  kill -s TERM -- "-$pid" 2>/dev/null
  sleep 5
  kill -s KILL -- "-$pid" 2>/dev/null
) <&0 &
watcher=$!

wait "$pid"
code=$?
kill "$watcher" 2>/dev/null
# Whatever the command left running in its group would hold the channel open: stop it.
if kill -s TERM -- "-$pid" 2>/dev/null; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
  kill -s KILL -- "-$pid" 2>/dev/null
fi
rm -f -- "$metadir/pgid" "$ready"
say "exit $code"
exit "$code"

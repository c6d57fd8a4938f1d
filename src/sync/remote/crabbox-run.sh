#!/usr/bin/env bash
# crabbox-run: the box side of `crabbox run`. The CLI sends this script and a request over the SSH channel's
# stdin (see docs/sync.md, "The wire protocol"); nothing secret ever reaches argv or a file.
#
# Request fields, each terminated by a NUL byte:
#   crabbox-run/4  workdir  metadir  sync (1 = sync, 0 = do not)  lock-wait-seconds  mode (argv|shell)
#   pty ("" or "<cols> <rows>[ keys]": run the command on a terminal of that size; keys: its input comes as IN words)
#   argc  arg...
# then, once the CLI has the run's id (with sync: read after the box has checked its files), the env block of
# src/env/wire.ts: "CBXENV1", one NAME=value record per variable, an empty record.
# With sync, the offer follows once the CLI has it: fingerprint  base  delete-limit (-1 = none)  send  remove
# (send and remove are blobs: a length field, then that many bytes of NUL-terminated paths), then git: HEAD (empty:
# no git metadata), and with one: ref  shallow  index  pack  refs (blobs; empty when the box has them already).
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
# rm -f, without starting rm when none of the paths is there (most runs leave nothing to remove).
rm_present() {
  local p
  for p; do
    if [ -e "$p" ] || [ -L "$p" ]; then rm -f -- "$@"; return; fi
  done
}
int() { case $1 in '' | *[!0-9-]* | ?*-*) fail "protocol bad number"; esac; }

field; magic=$F
[ "$magic" = "crabbox-run/4" ] || fail "protocol unknown request ${magic:0:20}"
field; workdir=$F
field; metadir=$F
field; sync=$F
field; lockwait=$F
field; mode=$F
field; pty=$F
field; argc=$F
int "$lockwait"; int "$argc"
case $sync in 0 | 1) ;; *) fail "protocol bad sync flag" ;; esac
case $workdir in /*) ;; *) fail "protocol workdir must be absolute" ;; esac
case $metadir in /*) ;; *) fail "protocol metadir must be absolute" ;; esac
case $mode in argv | shell) ;; *) fail "protocol bad mode" ;; esac
[ -z "$pty" ] || [[ $pty =~ ^[0-9]{1,4}\ [0-9]{1,4}(\ keys)?$ ]] || fail "protocol bad pty"
keys=""
case $pty in *" keys") keys=1; pty=${pty% keys} ;; esac
args=()
for ((i = 0; i < argc; i++)); do field; args+=("$F"); done
[ "${#args[@]}" -gt 0 ] || fail "protocol empty command"
envs=()
read_env() {
  field; [ "$F" = CBXENV1 ] || fail "protocol bad env block"
  while field && [ -n "$F" ]; do
    [[ $F =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "protocol bad env record"
    envs+=("$F")
  done
}
# Without sync nothing here waits for the CLI: the env block is read at once (with sync, after the box's check).
[ "$sync" = 1 ] || read_env

for tool in flock setsid sort comm join sed cmp head stat xargs touch split ${pty:+script stty}; do
  command -v "$tool" >/dev/null 2>&1 || fail "missing-tool $tool"
done
setsid_bin=$(command -v setsid); bash_bin=$(command -v bash)

# Every process started before the command is time the user waits for: none where a test of bash's own will do.
[ -d "$workdir" ] && [ -d "$metadir" ] || mkdir -p -- "$workdir" "$metadir" || fail "workdir cannot create $workdir"
exec 8>>"$metadir/lock" || fail "workdir cannot open lock"
if ! flock -n 8; then
  say "waiting lock"
  flock -w "$lockwait" 8 || fail "busy another run holds this workspace"
fi
cd -- "$workdir" || fail "workdir cannot enter $workdir"

# Bookkeeping in $metadir (outside the synced tree), all NUL-terminated and byte-sorted:
#   fingerprint  the tree the last complete sync made (empty or absent while a sync is incomplete)
#   manifest     the managed paths: what crabbox synced and will delete when they leave the checkout
#   snapshot     one stat record per managed path ("<path>\001<size> <ctime> <inode>") taken right after that sync.
#                Every write, chmod, touch, rename or replacement of a file moves its ctime (a program cannot set it),
#                so any change on the box to a managed file shows as a difference.
records() { xargs -0 -r stat --printf '%n\001%s %.9Z %i\0' -- 2>/dev/null; }
# Stats the paths of NUL list $1 in $2 parts side by side (at 200,000 files the stat pass is most of a no-change
# rerun, and it runs while the CLI still scans): the records, in the list's order, are in the files of parts_out.
# The parts' files are removed once the command has started (parts_left), off the path to it.
parts_out=()
parts_left=()
stat_in_parts() {
  local list=$1 parts=$2 k
  local -a ins=() pids=() suffix=(aa ab ac ad)
  parts_out=()
  if [ "$parts" -le 1 ] || ! split -n "l/$parts" -t '\0' -- "$list" "$metadir/records.in."; then
    parts_out=("$metadir/records.out.aa")
    records <"$list" >"${parts_out[0]}"
    parts_left+=("${parts_out[@]}")
    return
  fi
  for ((k = 0; k < parts; k++)); do
    ins+=("$metadir/records.in.${suffix[k]}"); parts_out+=("$metadir/records.out.${suffix[k]}")
    records <"${ins[k]}" >"${parts_out[k]}" &
    pids+=($!)
  done
  wait "${pids[@]}"
  parts_left+=("${ins[@]}" "${parts_out[@]}")
}
# The records of the paths in NUL list $1, written to $2 in the list's order, in $3 parts.
records_of() {
  if [ "$3" -le 1 ]; then records <"$1" >"$2"; return; fi
  stat_in_parts "$1" "$3"
  cat -- "${parts_out[@]}" >"$2"
}
# How many parts the manifest's stat pass takes: one per 512 KiB of paths (about 10,000), one per CPU, at most 4.
# Worked out when a sync stats the whole manifest (or by the first check of a workspace without it) and kept in
# stat-parts, so the check before a run starts no process for it (a manifest grown by changes since keeps the count
# until the next full pass).
cpus=1
if IFS= read -r online </sys/devices/system/cpu/online 2>/dev/null && [[ $online =~ ^0-([0-9]+)$ ]]; then
  cpus=$((BASH_REMATCH[1] + 1))
fi
stat_parts() {
  local size parts=1
  if [ "$cpus" -gt 1 ] && [ -s "$metadir/manifest" ] && size=$(stat -c %s -- "$metadir/manifest"); then
    parts=$((size / 524288 + 1))
    [ "$parts" -le "$cpus" ] || parts=$cpus
    [ "$parts" -le 4 ] || parts=4
  fi
  printf '%s\n' "$parts" >"$metadir/stat-parts"
  REPLY=$parts
}
paths_of() { sed -z 's/\x01[^\x01]*$//'; }
count_of() { tr -cd '\0' <"$1" | wc -c; }
# A blob: its length, then that many bytes (head reads no further). A short one means the input ended: the read of
# the next field then fails the run before the fingerprint is written, so nothing it brought is trusted. The full
# manifest, acted on before that read, is checked for its length where it arrives.
blob() {
  field; int "$F"
  if [ "$F" = 0 ]; then if [ "${3-}" = absent ]; then rm_present "$1"; else : >"$1"; fi; return; fi
  head -c "$F" >"$1" || fail "sync cannot store $2"
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

# True when a relative path can be written in place: no parent is a symlink or a file, and it is not a folder.
writable_path() {
  local p=$1 rest seg prefix=""
  case "/$p/" in //* | */../* | */./* | *//*) return 1 ;; esac
  rest=${p%/*}; [ "$rest" = "$p" ] && rest=""
  while [ -n "$rest" ]; do
    seg=${rest%%/*}; prefix=${prefix:+$prefix/}$seg
    if [ -L "$prefix" ] || { [ -e "$prefix" ] && [ ! -d "$prefix" ]; }; then return 1; fi
    if [ "$seg" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
  done
  [ -L "$p" ] || [ ! -d "$p" ]
}

# A few small files sent on this channel instead of by rsync (which costs a second connection and two processes):
# a count, then per file its path, kind (f or l), mode, mtime (seconds.nanoseconds) and content (a blob) or link
# target (a field). Each is written next to its place and renamed over it.
inline_files() {
  local n k p kind mode mtime dir tmp
  field; n=$F; int "$n"
  for ((k = 0; k < n; k++)); do
    field; p=$F; field; kind=$F; field; mode=$F; field; mtime=$F
    writable_path "$p" || fail "sync cannot write $p"
    [[ $mode =~ ^[0-7]{3,4}$ && $mtime =~ ^[0-9]+\.[0-9]{9}$ ]] || fail "protocol bad inline file"
    dir=.; [ "$p" != "${p%/*}" ] && dir=${p%/*}
    [ -d "$dir" ] || mkdir -p -- "$dir" || fail "sync cannot create $dir"
    tmp="$dir/.crabbox-inline.$$"
    rm_present "$tmp" # what a crashed run left
    case $kind in
      f) blob "$tmp" "file"; chmod -- "$mode" "$tmp" || fail "sync cannot write $p" ;;
      l) field; ln -s -- "$F" "$tmp" || fail "sync cannot write $p" ;;
      *) fail "protocol bad inline kind" ;;
    esac
    if ! { touch -h -m -d "@$mtime" -- "$tmp" && mv -fT -- "$tmp" "$p"; }; then
      rm -f -- "$tmp"
      fail "sync cannot write $p"
    fi
  done
}

sync_tree() {
  local m=$metadir stored="" box=unknown fp base how count parts=1 same=0 now
  [ -f "$m/fingerprint" ] && IFS= read -r stored <"$m/fingerprint"
  if [ -f "$m/stat-parts" ]; then IFS= read -r parts <"$m/stat-parts"; elif [ -s "$m/manifest" ]; then stat_parts; parts=$REPLY; fi
  [[ $parts =~ ^[1-4]$ ]] || parts=1
  [ -f "$m/manifest" ] || : >"$m/manifest"
  # What a command changed on the box since the last sync; this runs while the CLI still works out its offer.
  # In parts, the records go straight into the comparison; snapshot.now is written only when they differ.
  if [ -n "$stored" ] && [ -f "$m/snapshot" ]; then
    if [ "$parts" -le 1 ]; then
      records <"$m/manifest" >"$m/snapshot.now"
      cmp -s "$m/snapshot.now" "$m/snapshot" && same=1
    else
      stat_in_parts "$m/manifest" "$parts"
      if cat -- "${parts_out[@]}" | cmp -s - "$m/snapshot"; then same=1; else cat -- "${parts_out[@]}" >"$m/snapshot.now"; fi
    fi
    now=$m/snapshot.now
    if [ "$same" = 1 ]; then
      box=same now=$m/snapshot
    elif comm -z -23 --check-order "$m/snapshot" "$m/snapshot.now" >"$m/box.old" 2>/dev/null &&
      comm -z -13 --check-order "$m/snapshot" "$m/snapshot.now" >"$m/box.new" 2>/dev/null; then
      cat "$m/box.old" "$m/box.new" | paths_of | sort -z -u >"$m/boxchanged"
      box=changed
    fi
  fi
  # The env block carries the run's id, which the CLI may still be recording while the box checks its files.
  read_env
  field; fp=$F
  # Anything but a fingerprint (a signal word, the CLI gone) means the CLI gave up before it had one.
  [[ $fp =~ ^[0-9a-f]{64}$ ]] || fail "aborted sync did not start"
  field; base=$F
  field; deletelimit=$F; int "$deletelimit"
  blob "$m/send.recv" "change list"
  blob "$m/remove.recv" "change list"
  field; git_head=$F
  if [ -n "$git_head" ]; then
    [[ $git_head =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]] || fail "protocol bad git head"
    field; git_ref=$F
    case $git_ref in '' | refs/heads/*) ;; *) fail "protocol bad git ref" ;; esac
    blob "$m/git.shallow" "git metadata" absent
    blob "$m/git.index" "git metadata" absent
    blob "$m/git.pack" "git metadata" absent
    blob "$m/git.refs" "git metadata" absent
  fi
  # delta: the box has the CLI's base, and gets the change from it; repair: it has the CLI's tree, but a command
  # changed managed files; full: anything else (no earlier sync, an interrupted one, another tree).
  how=full
  if [ "$box" != unknown ] && [ "$stored" = "$fp" ]; then
    how=repair
    : >"$m/send.recv"; : >"$m/remove.recv"
    if [ "$box" = same ]; then say "in-sync"; return 0; fi
  elif [ "$box" != unknown ] && [ -n "$base" ] && [ "$stored" = "$base" ]; then
    how="delta"
  fi
  : >"$m/fingerprint"
  local sent=$m/sent
  if [ "$how" = full ]; then
    say "need-full"
    blob "$m/manifest.recv" manifest
    # Acted on (deletions) before the next read: a short manifest must be caught here.
    [ "$(wc -c <"$m/manifest.recv")" -eq "$F" ] || fail "protocol manifest truncated"
    sort -z -u "$m/manifest.recv" >"$m/manifest.new" || fail "sync cannot sort manifest"
    comm -z -23 "$m/manifest" "$m/manifest.new" >"$m/removed" || fail "sync cannot compare manifests"
    : >"$m/sent"
    # Files already in the folder may have the size and mtime of the new ones and still differ: compare content.
    # shellcheck disable=SC2012 # only "is there anything at all" is asked
    if [ -n "$(ls -A -- . 2>/dev/null | head -c 1)" ]; then how=full-checksum; fi
  else
    # The change lists arrive byte-sorted (comm checks); a short change costs a few small steps, not a sort.
    : >"$m/removed"
    local kept=$m/manifest
    if [ -s "$m/remove.recv" ]; then
      comm -z -12 --check-order "$m/manifest" "$m/remove.recv" >"$m/removed" 2>/dev/null || fail "protocol change list not sorted"
      comm -z -23 "$m/manifest" "$m/remove.recv" >"$m/kept.paths" || fail "sync cannot compare manifests"
      kept=$m/kept.paths
    fi
    # Only managed paths are ever deleted; a file changed on the box and still managed is sent again.
    if [ "$box" = changed ]; then
      comm -z -23 "$m/boxchanged" "$m/remove.recv" >"$m/extra"
      sort -z -u -m -- "$m/extra" "$m/send.recv" >"$m/sent"
      if [ -s "$m/extra" ]; then say "extra $(wc -c <"$m/extra")"; cat -- "$m/extra"; fi
    else
      sent=$m/send.recv
    fi
    sort -z -u -m -- "$kept" "$sent" >"$m/manifest.new" || fail "sync cannot merge manifests"
  fi
  count=0
  if [ -s "$m/removed" ]; then count=$(count_of "$m/removed"); fi
  if [ "$deletelimit" -ge 0 ] && [ "$count" -gt "$deletelimit" ]; then
    say "sample $(head -z -n 20 "$m/removed" | wc -c)"
    head -z -n 20 "$m/removed"
    fail "too-many-deletes $count"
  fi
  if [ "$count" -gt 0 ]; then delete_paths "$m/removed" || fail "sync cannot delete removed files"; fi
  # From here on the new paths are managed, so the files of an interrupted transfer are removed by a later sync.
  mv -f -- "$m/manifest.new" "$m/manifest" || fail "sync cannot store manifest"
  # Up to 4 files the CLI may send inline, when each can be written in place.
  local inline=0 path
  local -a small=()
  if [ "$how" = delta ] || [ "$how" = repair ]; then
    mapfile -d '' -t -n 5 small <"$sent"
    if [ "${#small[@]}" -le 4 ]; then
      inline=1
      for path in "${small[@]}"; do writable_path "$path" || inline=0; done
    fi
  fi
  say "rsync $count $how $inline"
  field
  if [ "$F" = inline ] && [ "$inline" = 1 ]; then inline_files; field; fi
  [ "$F" = ok ] || fail "aborted sync did not complete"
  # The new snapshot: after a change, the records taken before it with those of the changed paths replaced. The
  # fingerprint is written last: without it, nothing here is trusted.
  if [ "$how" = delta ] || [ "$how" = repair ]; then
    if sort -z -u -m -- "$sent" "$m/removed" | join -z -t $'\001' -v 1 --check-order -- "$now" - >"$m/kept" 2>/dev/null; then
      records <"$sent" | sort -z -m -- "$m/kept" - >"$m/snapshot"
    else
      stat_parts; records_of "$m/manifest" "$m/snapshot" "$REPLY"
    fi
  else
    stat_parts; records_of "$m/manifest" "$m/snapshot" "$REPLY"
  fi
  printf '%s\n' "$fp" >"$m/fingerprint"
  rm -f -- "$m"/{manifest.recv,send.recv,remove.recv,removed,extra,sent,kept,kept.paths,box.old,box.new,boxchanged,snapshot.now}
  say "synced"
}

# The checkout's own .git (docs/sync.md, "Git on the box"): objects from the pack, the shallow boundaries, HEAD and
# its branch, the index entries (then refreshed against the synced files). Only when something changed does any git
# process run; either way HEAD is checked with two reads and the CLI told `git ok` or `git stale`.
git_head=""
git_meta() {
  local m=$metadir h ref=""
  [ -n "$git_head" ] || return 0
  if [ -s "$m/git.pack" ] || [ -s "$m/git.index" ] || [ -s "$m/git.shallow" ] || [ -s "$m/git.refs" ] || [ ! -e .git/HEAD ]; then
    command -v git >/dev/null 2>&1 || { say "git missing"; return 0; }
    if ! {
      { [ -e .git/HEAD ] || git init -q . >/dev/null; } &&
        { [ ! -s "$m/git.pack" ] || git index-pack --stdin <"$m/git.pack" >/dev/null; } &&
        { [ ! -s "$m/git.shallow" ] || { { [ ! -f .git/shallow ] || tr '\n' '\0' <.git/shallow; cat -- "$m/git.shallow"; } | sort -z -u | tr '\0' '\n' >.git/shallow.new && mv -f -- .git/shallow.new .git/shallow; }; } &&
        { [ ! -s "$m/git.refs" ] || git update-ref --stdin <"$m/git.refs"; } &&
        if [ -n "$git_ref" ]; then git symbolic-ref HEAD "$git_ref"; else git update-ref --no-deref HEAD "$git_head"; fi &&
        { [ ! -s "$m/git.index" ] || { rm -f .git/index && git update-index -z --index-info <"$m/git.index"; }; }
    }; then
      say "git failed"
      return 0
    fi
    # The index's stat data is this box's: one refresh, so later `git status` calls need not hash every file.
    git update-index -q --refresh >/dev/null 2>&1
  fi
  rm_present "$m/git.pack" "$m/git.index" "$m/git.shallow" "$m/git.refs"
  # What HEAD resolves to, with reads only.
  h=""
  [ -f .git/HEAD ] && IFS= read -r h <.git/HEAD
  case $h in "ref: "*) ref=${h#ref: }; h=""; [ -f ".git/$ref" ] && IFS= read -r h <".git/$ref" ;; esac
  if [ "$h" = "$git_head" ]; then say "git ok"; else say "git stale"; fi
}

if [ "$sync" = 1 ]; then sync_tree; git_meta; fi

# True when the box has the locale $1 (glibc's spelling: "en_US.UTF-8" is "en_US.utf8"). `locale -a` runs once per
# workspace; C, POSIX and C.UTF-8 need no look-up. A name with odd characters is never passed on.
locale_known() {
  local want=$1 cs mod="" l
  case $want in C | POSIX | C.UTF-8 | C.utf8) return 0 ;; esac
  [[ $want =~ ^[A-Za-z0-9_.@-]{1,64}$ ]] || return 1
  if [ -z "${locales_loaded-}" ]; then
    if [ ! -f "$metadir/locales" ]; then
      locale -a >"$metadir/locales.tmp" 2>/dev/null && mv -f -- "$metadir/locales.tmp" "$metadir/locales" || return 0
    fi
    declare -gA known_locales=()
    mapfile -t locales_list <"$metadir/locales"
    for l in "${locales_list[@]}"; do known_locales[${l,,}]=1; done
    locales_loaded=1
  fi
  case $want in *@*) mod="@${want#*@}"; want=${want%%@*} ;; esac
  case $want in *.*) cs=${want#*.}; cs=${cs,,}; want="${want%%.*}.${cs//[^a-z0-9]/}" ;; esac
  [ -n "${known_locales[${want,,}$mod]-}" ]
}

# The caller's LANG and LC_* name locales this box may lack: those become C.UTF-8, said once per workspace.
fix_locales() {
  local i kv name missing=""
  for i in "${!envs[@]}"; do
    kv=${envs[$i]}; name=${kv%%=*}
    case $name in LANG | LC_*) ;; *) continue ;; esac
    [ -z "${kv#*=}" ] || locale_known "${kv#*=}" && continue
    envs[i]="$name=C.UTF-8"
    if [[ ${kv#*=} =~ ^[A-Za-z0-9_.@-]{1,64}$ ]]; then missing=${kv#*=}; else missing=${missing:-?}; fi
  done
  [ -n "$missing" ] || return 0
  local said=""
  [ -f "$metadir/locale-said" ] && IFS= read -r said <"$metadir/locale-said"
  if [ "$said" != "$missing" ]; then
    say "locale-fallback $missing"
    printf '%s\n' "$missing" >"$metadir/locale-said"
  fi
}
fix_locales

# The login shell marks when it has read the profile: a signal that lands while bash is still sourcing it can be
# absorbed (bash keeps going when the profile's own child survives it), so signals are held until then.
# The file holds this run's token, so the one an earlier run left needs no removing (an rm is a process started).
ready="$metadir/ready"
token="$$-$RANDOM$RANDOM-${EPOCHREALTIME-}"
is_ready() { local r; [ -f "$ready" ] && IFS= read -r r <"$ready" && [ "$r" = "$token" ]; }
# shellcheck disable=SC2016 # expanded by the command's own bash, not here
# `>|`: the file is there from an earlier run, and a profile may have set noclobber.
mark='printf "%s\n" "$CRABBOX_READY_TOKEN" >|"$CRABBOX_READY_FILE"; unset CRABBOX_READY_FILE CRABBOX_READY_TOKEN'
if [ "$mode" = shell ]; then
  set -- -lc "$mark
${args[0]}"
else
  set -- -lc "$mark; exec \"\$@\"" crabbox "${args[@]}"
fi
# With a terminal (`crabbox run -t`): script(1) gives the command a pty of the caller's size; its output (stdout and
# stderr, one stream) comes out of script's stdout. The pty's session leader writes its pid and the pty's name, so
# signals reach the command's own group and a resize (stty on the pty) reaches its foreground group.
launch=("$bash_bin")
ptyfile="$metadir/pty"
ptyin="$metadir/pty-in"
cmd_stdin=/dev/null
rm_present "$ptyfile" "$ptyin"
if [ -n "$keys" ]; then
  # The caller's keys arrive as IN words and go to script's stdin through this fifo, opened read-write by both ends
  # so neither waits for the other and script never reads end of file while the run lasts.
  mkfifo -m 600 -- "$ptyin" || fail "workdir cannot create $ptyin"
  cmd_stdin=$ptyin
fi
if [ -n "$pty" ]; then
  inner=$(printf '%q ' "$bash_bin" "$@")
  set -- -qefc "stty cols ${pty% *} rows ${pty#* } 2>/dev/null; printf '%s %s' \"\$\$\" \"\$(tty)\" >$(printf '%q' "$ptyfile"); exec $inner" /dev/null
  launch=(script)
fi
# Announce the start before the command can write a byte: from here on, stdout belongs to the command.
say "start"
# The command gets its own session and process group; the forwarded env is exported only in its subshell.
(
  umask "$user_umask"
  if [ -n "${user_lc_all+set}" ]; then export LC_ALL="$user_lc_all"; else unset LC_ALL; fi
  for kv in "${envs[@]}"; do export "${kv?}"; done
  export CRABBOX_READY_FILE="$ready" CRABBOX_READY_TOKEN="$token"
  [ -z "$pty" ] || export SHELL="$bash_bin"
  # fd 8 is the workspace lock: only this wrapper holds it, so a process that escapes the group cannot keep it.
  exec "$setsid_bin" "${launch[@]}" "$@" 8>&-
) 0<>"$cmd_stdin" &
pid=$!
# The stat pass's parts go while the command runs.
[ "${#parts_left[@]}" -eq 0 ] || rm -f -- "${parts_left[@]}"

# Signals from the CLI arrive as NUL-terminated words on stdin; end of stdin means the CLI or the connection is gone.
(
  [ -z "$keys" ] || exec 7<>"$ptyin"
  while IFS= read -r -d '' word; do
    # Hold the signal until the command is past its login profile (or gone; bounded at 30 s).
    for ((i = 0; i < 3000; i++)); do
      if is_ready || ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.01
    done
    ptypid="" ptyname=""
    [ -f "$ptyfile" ] && read -r ptypid ptyname <"$ptyfile"
    case $word in
      INT | TERM | HUP | KILL) kill -s "$word" -- "-$pid" 2>/dev/null; [ -z "$ptypid" ] || kill -s "$word" -- "-$ptypid" 2>/dev/null ;;
      # Keys for the pty, as hex (the words on this stdin are NUL-terminated, keys may be any byte).
      "IN "*)
        hex=${word#IN } bytes=""
        [[ -n $keys && $hex =~ ^([0-9a-f]{2}){1,512}$ ]] || continue
        for ((j = 0; j < ${#hex}; j += 2)); do bytes+="\\x${hex:j:2}"; done
        printf '%b' "$bytes" >&7 ;;
      # The kernel sends SIGWINCH to the pty's foreground group when its size changes.
      "WINCH "*) [[ -n $ptyname && ${word#WINCH } =~ ^([0-9]{1,4})\ ([0-9]{1,4})$ ]] && stty -F "$ptyname" cols "${BASH_REMATCH[1]}" rows "${BASH_REMATCH[2]}" 2>/dev/null ;;
    esac
  done
  kill -s TERM -- "-$pid" 2>/dev/null
  [ -f "$ptyfile" ] && read -r ptypid _ <"$ptyfile" && kill -s TERM -- "-$ptypid" 2>/dev/null
  sleep 5
  kill -s KILL -- "-$pid" 2>/dev/null
  [ -n "${ptypid-}" ] && kill -s KILL -- "-$ptypid" 2>/dev/null
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
# A pty's session got SIGHUP when script ended; what ignored it is stopped here.
if [ -f "$ptyfile" ] && read -r ptypid _ <"$ptyfile"; then kill -s KILL -- "-$ptypid" 2>/dev/null; fi
rm_present "$ptyfile" "$ptyin"
say "exit $code"
exit "$code"

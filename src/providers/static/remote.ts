import { shellQuote } from '../../ssh/quote.ts';

// The POSIX sh scripts the `ssh` provider runs on a static host. Values arrive as positional arguments
// ($1, $2, ...) and stdin, never spliced into the script text, so a config or label value cannot become code.
// Every script starts by resolving the work root ($1): `~/x` means "$HOME/x" on the host.

const RESOLVE_ROOT = `set -eu
root=$1
case $root in '~/'*) root="$HOME/\${root#'~/'}" ;; esac
claim="$root/.crabbox-claim"
`;

/** Holds a lock on ~/.ssh while authorized_keys changes (hosts that share a home share the file). */
const LOCK_SSH_DIR = `umask 077
mkdir -p "$HOME/.ssh"
ak="$HOME/.ssh/authorized_keys"
exec 9<"$HOME/.ssh"
if command -v flock >/dev/null 2>&1; then flock -w 30 9 || true; fi
`;

/** Prints `root <abs work root>`, `claim <target of the claim link or empty>` and, for a lease claim, `labels <json>`. */
const INSPECT = `${RESOLVE_ROOT}
cur=$(readlink "$claim" 2>/dev/null || true)
if [ -z "$cur" ] && [ -e "$claim" ]; then cur='?'; fi
printf 'root %s\\nclaim %s\\n' "$root" "$cur"
case $cur in cbx_*)
  if [ -f "$root/$cur/meta/labels.json" ]; then printf 'labels '; tr -d '\\n' < "$root/$cur/meta/labels.json"; printf '\\n'; fi ;;
esac
`;

/**
 * Claims the host for lease $2: the lease dir and its labels (stdin) are written first, then one `ln -s` makes the
 * claim; symlink creation is atomic, so of two CLIs racing for a host exactly one wins. The loser removes its lease dir.
 * Prints `claimed <abs root>` or `taken <owner>`.
 */
const CLAIM = `${RESOLVE_ROOT}
id=$2
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" = "$id" ]; then cat >/dev/null; printf 'claimed %s\\n' "$root"; exit 0; fi
if [ -n "$cur" ] || [ -e "$claim" ]; then cat >/dev/null; printf 'taken %s\\n' "\${cur:-?}"; exit 0; fi
umask 077
mkdir -p "$root"
mkdir -p "$root/$id/meta" "$root/$id/work"
cat > "$root/$id/meta/labels.json.tmp"
mv -f "$root/$id/meta/labels.json.tmp" "$root/$id/meta/labels.json"
if ln -sn "$id" "$claim" 2>/dev/null; then printf 'claimed %s\\n' "$root"; exit 0; fi
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" = "$id" ]; then printf 'claimed %s\\n' "$root"; exit 0; fi
rm -rf "$root/$id"
printf 'taken %s\\n' "\${cur:-?}"
`;

/**
 * Appends the lease key line ($3, ending in the marker for lease $2) unless a line with that marker is already there,
 * but only while the host is still claimed by lease $2 (checked under the same lock release takes): a release that
 * ran while the create was in flight wins, and no key line is added after it. Exits 3 when the claim is gone.
 */
const INSTALL_KEY = `${RESOLVE_ROOT}
id=$2
${LOCK_SSH_DIR}
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" != "$id" ]; then echo "the host is no longer claimed by $id" >&2; exit 3; fi
if [ -f "$ak" ] && grep -q "crabbox-lease:$id\\$" "$ak"; then exit 0; fi
if [ -s "$ak" ] && [ -n "$(tail -c 1 "$ak")" ]; then printf '\\n' >> "$ak"; fi
printf '%s\\n' "$3" >> "$ak"
`;

/**
 * On a host with per-lease users: runs pool-box.sh (stdin) as root (directly for root, else through passwordless sudo)
 * with the arguments after $2, but only while the host is claimed by lease $2, checked and held under the lock release
 * takes to remove the claim. So a release that ran while the create was in flight wins (no user is made after it),
 * and one that comes later waits for the grant and then removes its user. Exits 3 when the claim is gone.
 */
const GRANT_IF_CLAIMED = `${RESOLVE_ROOT}
id=$2
shift 2
${LOCK_SSH_DIR}
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" != "$id" ]; then echo "the host is no longer claimed by $id" >&2; exit 3; fi
umask 022
if [ "$(id -u)" = 0 ]; then bash -s -- "$@"; else sudo -n bash -s -- "$@"; fi
`;

/** Replaces the labels of lease $2 (stdin) if the host is still claimed by it; exits 3 when it is not. */
const SET_LABELS = `${RESOLVE_ROOT}
id=$2
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" != "$id" ] || [ ! -d "$root/$id/meta" ]; then cat >/dev/null; exit 3; fi
umask 077
# One temporary file per writer: concurrent touches of one lease (many runs at once) must not share it.
tmp="$root/$id/meta/labels.json.tmp.$$"
cat > "$tmp"
mv -f "$tmp" "$root/$id/meta/labels.json"
`;

/**
 * Undoes everything create did for lease $2. First, under the authorized_keys lock (the one install-key takes), the
 * key line ending in the lease marker (every other line is copied unchanged) and the claim, so nothing can log in with
 * the lease key or add its line again, even with the labels file gone. Then the lease dir, never through a symlink:
 * a symlink there is removed without being followed, and a directory is used only when its real path is
 * `<real work root>/<id>`. Processes whose working directory is inside it (provably the lease's) are stopped, except
 * this script's own process tree (itself, its ancestors such as the ssh session, and its children). Prints `found 1`
 * when anything was there, `found 0` otherwise; exits 4 when the lease dir resolves somewhere else.
 */
const RELEASE = `${RESOLVE_ROOT}
id=$2
lease="$root/$id"
found=0
${LOCK_SSH_DIR}
if [ -f "$ak" ] && grep -q "crabbox-lease:$id\\$" "$ak"; then
  found=1
  tmp="$HOME/.ssh/.authorized_keys.crabbox-$$"
  grep -v "crabbox-lease:$id\\$" "$ak" > "$tmp" || true
  if [ -L "$ak" ]; then cat "$tmp" > "$ak"; rm -f "$tmp"
  else chmod --reference="$ak" "$tmp" 2>/dev/null || chmod 600 "$tmp"; mv -f "$tmp" "$ak"; fi
fi
cur=$(readlink "$claim" 2>/dev/null || true)
if [ "$cur" = "$id" ]; then rm -f "$claim"; found=1; fi
exec 9<&-
if [ -L "$lease" ]; then
  found=1
  rm -f "$lease"
  echo "$lease was a symlink; removed the link without following it" >&2
elif [ -d "$lease" ]; then
  found=1
  realroot=$(cd "$root" && pwd -P)
  real=$(cd "$lease" && pwd -P)
  if [ "$real" != "$realroot/$id" ]; then echo "refusing $lease: it resolves to $real, not inside $realroot" >&2; exit 4; fi
  ppid_of() { awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
  own=" $$ "
  p=$(ppid_of $$)
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do own="$own$p "; p=$(ppid_of "$p"); done
  mine() {
    case $own in *" $1 "*) return 0 ;; esac
    q=$(ppid_of "$1")
    while [ -n "$q" ] && [ "$q" -gt 1 ]; do
      if [ "$q" = "$$" ]; then return 0; fi
      q=$(ppid_of "$q")
    done
    return 1
  }
  pids=''
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $cwd in "$real"|"$real"/*) if ! mine "\${p#/proc/}"; then pids="$pids \${p#/proc/}"; fi ;; esac
  done
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    sleep 1
    kill -KILL $pids 2>/dev/null || true
  fi
  rm -rf "$lease"
fi
printf 'found %s\\n' "$found"
`;

const sh = (script: string, args: string[]): string => shellQuote(['sh', '-c', script, 'crabbox', ...args]);

/** The remote command lines, each a complete shell-quoted `sh -c` invocation. */
export const remote = {
  inspect: (workRoot: string): string => sh(INSPECT, [workRoot]),
  claim: (workRoot: string, leaseId: string): string => sh(CLAIM, [workRoot, leaseId]),
  installKey: (workRoot: string, leaseId: string, keyLine: string): string => sh(INSTALL_KEY, [workRoot, leaseId, keyLine]),
  setLabels: (workRoot: string, leaseId: string): string => sh(SET_LABELS, [workRoot, leaseId]),
  release: (workRoot: string, leaseId: string): string => sh(RELEASE, [workRoot, leaseId]),
  /** pool-box.sh `args`, run as root while lease `leaseId` still holds the claim (the script itself goes on stdin). */
  grantIfClaimed: (workRoot: string, leaseId: string, args: string[]): string => sh(GRANT_IF_CLAIMED, [workRoot, leaseId, ...args]),
};

/** What `inspect` printed, parsed. */
export interface HostClaim {
  root: string;
  /** The claim link's target: a lease id, `?` for something foreign, or empty when the host is free. */
  owner: string;
  labels: Record<string, string> | undefined;
}

/** Parses the output of `inspect`. */
export function parseInspect(stdout: string): HostClaim {
  let root = '';
  let owner = '';
  let labels: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('root ')) root = line.slice(5);
    else if (line.startsWith('claim ')) owner = line.slice(6).trim();
    else if (line.startsWith('labels ')) labels = parseLabels(line.slice(7));
  }
  return { root, owner, labels };
}

function parseLabels(text: string): Record<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return undefined;
  }
}

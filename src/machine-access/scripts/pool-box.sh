#!/bin/bash
# Crabbox warm pool: hands a pool machine to one lease and takes it back. Run as root (the coordinator sends it over
# ssh to the box's admin user, through sudo when that user is not root) as: pool-box.sh <command> <args...>
#   prepare <leases-root> <keys-dir> <require-ready: yes|no>
#   grant   <user> <leases-root> <keys-dir> <access lines, or - with the user CA> [sudo]
#   revoke  <user> <keys-dir>
#   scrub   <user> <leases-root> <keys-dir>
#   host-cert <certificate line>   (the host key's certificate from the coordinator host CA; sshd presents it)
# A lease user is cbx-<12 hex>, with its one key in <keys-dir>/<user> (root's 0644: sshd reads it through
# `Match User cbx-*` / `AuthorizedKeysFile <keys-dir>/%u`; never in the home) and <leases-root>/<user>/{home,work}
# (0700, the user's). UIDs come from 1879048192-1879113727, after the last one this box handed out. See docs/pool.md.
# On a box whose bootstrap installed the coordinator's SSH user CA (docs/ssh-ca.md: /etc/crabbox/user_ca_keys), the
# file names the user's certificate principal (its own name) instead of a key, and revoke and scrub add the lease's
# key id (cbx_<12 hex>) to the box's revocation list, so its certificates are refused before they expire.
# The access lines are one public key line, optionally restricted (`no-agent-forwarding,no-X11-forwarding key`), or
# one or two `cert-authority,principals="<user>",no-agent-forwarding,no-X11-forwarding ssh-ed25519 ...` lines (a static
# host's per-user form of CA trust, decision 0057). `sudo` (the coordinator's own choice, never a lease's: decision
# 0060) writes /etc/sudoers.d/<user>, checked by visudo before it is moved into place; without it any such file goes.
set -euo pipefail
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

UID_FIRST=1879048192
UID_LAST=1879113727
STATE=/var/lib/crabbox
# Where a lease user may leave files besides its home and workdir.
SCRUB_DIRS=(/tmp /var/tmp /dev/shm /run/lock /dev/mqueue /var/spool/cron)
CA_KEYS=/etc/crabbox/user_ca_keys
SUDOERS=/etc/sudoers.d
KRL=/etc/crabbox/revoked_keys

die() { printf 'pool-box: %s\n' "$*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root"

user_ok() { [[ $1 =~ ^cbx-[0-9a-f]{12}$ ]] || die "not a lease user: $1"; }
path_ok() { [[ $1 =~ ^/[A-Za-z0-9._/-]+$ && $1 != *..* ]] || die "not a plain absolute path: $1"; }
root_dir() {
  # A directory only root can change, made if missing: nothing below it can be swapped by a lease user.
  install -d -m "$2" -o root -g root "$1"
  if [ ! -d "$1" ] || [ -L "$1" ] || [ "$(stat -c %u "$1")" != 0 ]; then die "$1 is not root's directory"; fi
}

next_uid() {
  local last uid i
  last=$(cat "$STATE/next-uid" 2>/dev/null || echo "$UID_FIRST")
  [[ $last =~ ^[0-9]+$ ]] && [ "$last" -ge "$UID_FIRST" ] && [ "$last" -le "$UID_LAST" ] || last=$UID_FIRST
  uid=$last
  for ((i = 0; i <= UID_LAST - UID_FIRST; i++)); do
    if ! getent passwd "$uid" >/dev/null && ! getent group "$uid" >/dev/null; then
      echo $((uid + 1)) >"$STATE/next-uid.tmp" && mv -f "$STATE/next-uid.tmp" "$STATE/next-uid"
      echo "$uid"
      return 0
    fi
    uid=$((uid + 1))
    [ "$uid" -le "$UID_LAST" ] || uid=$UID_FIRST
  done
  die "no free lease UID left"
}

trusts_ca() { [ -s "$CA_KEYS" ]; }

revoke_certificates() {
  # Adds the lease's key id for every trusted CA key to a copy of the KRL, then renames it into place: sshd never
  # reads a half-written list (and refuses every key while it is missing).
  local user=$1 tmp spec ca line
  trusts_ca || return 0
  tmp=$(mktemp "$KRL.XXXXXX"); spec=$(mktemp); ca=$(mktemp)
  if [ -f "$KRL" ]; then cat "$KRL" >"$tmp"; else ssh-keygen -q -k -f "$tmp.empty" && mv -f "$tmp.empty" "$tmp"; fi
  printf 'id: cbx_%s\n' "${user#cbx-}" >"$spec"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    printf '%s\n' "$line" >"$ca"
    ssh-keygen -q -k -u -f "$tmp" -s "$ca" "$spec" || { rm -f "$tmp" "$spec" "$ca"; die "ssh-keygen could not update the revocation list"; }
  done <"$CA_KEYS"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$KRL"
  rm -f "$spec" "$ca"
}

kill_all() {
  # SIGKILL every process of the UID until none is left: a process may fork while the others die, and a
  # double-forked, setsid'd daemon is still the UID's.
  local uid=$1 round
  for round in $(seq 1 50); do
    pkill -KILL -U "$uid" 2>/dev/null || true
    pkill -KILL -u "$uid" 2>/dev/null || true
    if ! pgrep -U "$uid" >/dev/null 2>&1 && ! pgrep -u "$uid" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
    : "$round"
  done
  return 1
}

cmd_prepare() {
  local leases=$1 keys=$2 ready=$3
  path_ok "$leases"; path_ok "$keys"
  if [ "$ready" = yes ] && [ ! -f "$STATE/ready" ]; then echo "not ready: the bootstrap has not finished" >&2; exit 75; fi
  root_dir "$STATE" 0755
  root_dir "$leases" 0711
  root_dir "$keys" 0755
  echo ok
}

cmd_host_cert() {
  # Installs the host key's certificate from the coordinator's host CA (docs/ssh-ca.md), in a drop-in read before the
  # bootstrap's (its Match block must come last), checks the config and has sshd reread it.
  local cert=$1 tmp pid want got
  [[ $cert =~ ^ssh-ed25519-cert-v01@openssh\.com\ [A-Za-z0-9+/=]+(\ [A-Za-z0-9._-]+)?$ ]] || die "not an ssh-ed25519 certificate line"
  [ -f /etc/ssh/ssh_host_ed25519_key.pub ] || die "no /etc/ssh/ssh_host_ed25519_key.pub"
  tmp=$(mktemp /etc/ssh/.host-cert.XXXXXX)
  printf '%s\n' "$cert" >"$tmp"
  want=$(ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub | awk '{ print $2 }')
  got=$(ssh-keygen -L -f "$tmp" | awk '$1 == "Public" && $2 == "key:" { print $4 }')
  if [ -z "$want" ] || [ "$want" != "$got" ]; then rm -f "$tmp"; die "the certificate is not for this box's host key"; fi
  chmod 0644 "$tmp"
  mv -f "$tmp" /etc/ssh/ssh_host_ed25519_key-cert.pub
  printf '# Written by Crabbox (pool-box.sh host-cert): the host key certificate from the coordinator host CA.\nHostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n' >/etc/ssh/sshd_config.d/05-crabbox-host-cert.conf
  chmod 0644 /etc/ssh/sshd_config.d/05-crabbox-host-cert.conf
  /usr/sbin/sshd -t || die "sshd refuses the configuration with the host certificate"
  if [ -d /run/systemd/system ]; then
    systemctl try-reload-or-restart ssh.service 2>/dev/null || systemctl try-reload-or-restart sshd.service 2>/dev/null || true
  elif pid=$(cat /run/sshd.pid 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]]; then
    kill -HUP "$pid"
  fi
  echo ok
}

access_ok() {
  # One plain or restricted key line, or one or two cert-authority lines limited to the user's own principal.
  local user=$1 line n=0 keys=0 cas=0
  local key='(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+'
  local restrict='no-agent-forwarding,no-X11-forwarding ' comment='( [^[:cntrl:]]*)?'
  local ca="cert-authority,principals=\"$user\",no-agent-forwarding,no-X11-forwarding ssh-ed25519 [A-Za-z0-9+/=]+"
  while IFS= read -r line; do
    n=$((n + 1))
    if [[ $line =~ ^($restrict)?$key$comment$ ]]; then keys=$((keys + 1))
    elif [[ $line =~ ^$ca$comment$ ]]; then cas=$((cas + 1))
    else die "not an OpenSSH public key line nor a cert-authority line for $user"; fi
  done <<<"$2"
  if [ "$n" = 0 ] || [ "$keys" -gt 1 ] || [ "$cas" -gt 2 ] || { [ "$keys" = 1 ] && [ "$cas" != 0 ]; }; then
    die "expected one key line, or one or two cert-authority lines"
  fi
}

grant_sudo() {
  # The coordinator granted sudo: a sudoers entry for the user, checked by visudo on a temporary file sudo ignores
  # (a name with a dot), then renamed into place, so sudo never reads a half-written or invalid entry.
  local user=$1 tmp
  command -v visudo >/dev/null || die "sudo granted, but visudo is not installed"
  # The system's own directory, left as it is (sudo reads it through the @includedir of /etc/sudoers).
  if [ ! -d "$SUDOERS" ] || [ -L "$SUDOERS" ] || [ "$(stat -c %u "$SUDOERS")" != 0 ]; then die "sudo granted, but $SUDOERS is not root's directory"; fi
  tmp=$(mktemp "$SUDOERS/.crabbox.XXXXXX")
  printf '# Written by Crabbox (pool-box.sh grant sudo): lease user %s, until its lease ends.\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$user" "$user" >"$tmp"
  chmod 0440 "$tmp"
  visudo -c -q -f "$tmp" >/dev/null || { rm -f "$tmp"; die "visudo refuses the sudoers entry for $user"; }
  mv -f "$tmp" "$SUDOERS/$user"
}

cmd_grant() {
  local user=$1 leases=$2 keys=$3 key=$4 sudo=${5:-nosudo} uid shell=/bin/sh
  user_ok "$user"; path_ok "$leases"; path_ok "$keys"
  # '-': no key, on a box that trusts the user CA (the single-lease bootstrap: the user data holds no lease key).
  if [ "$key" = - ]; then trusts_ca || die "no key given and no user CA"; else access_ok "$user" "$key"; fi
  [ "$sudo" = sudo ] || [ "$sudo" = nosudo ] || die "not sudo or nosudo: $sudo"
  root_dir "$leases" 0711
  root_dir "$keys" 0755
  [ -x /bin/bash ] && shell=/bin/bash
  if ! id -u "$user" >/dev/null 2>&1; then
    uid=$(next_uid)
    if getent group "$user" >/dev/null; then groupdel "$user"; fi
    groupadd --gid "$uid" "$user"
    useradd --uid "$uid" --gid "$uid" --no-create-home --no-log-init --home-dir "$leases/$user/home" --shell "$shell" --password '*' --comment 'crabbox lease' "$user"
  fi
  uid=$(id -u "$user")
  if [ "$uid" -lt "$UID_FIRST" ] || [ "$uid" -gt "$UID_LAST" ]; then die "$user has uid $uid, outside the lease range"; fi
  root_dir "$leases/$user" 0755
  for dir in home work; do
    [ -L "$leases/$user/$dir" ] && die "$leases/$user/$dir is a symlink"
    install -d -m 0700 -o "$user" -g "$user" "$leases/$user/$dir"
  done
  # With the user CA the lease user's principal is its own name (the certificate the coordinator signs names it).
  if trusts_ca; then printf '%s\n' "$user" >"$keys/.$user.tmp"; else printf '%s\n' "$key" >"$keys/.$user.tmp"; fi
  chmod 0644 "$keys/.$user.tmp"
  mv -f "$keys/.$user.tmp" "$keys/$user"
  if [ "$sudo" = sudo ]; then grant_sudo "$user"; else rm -f -- "$SUDOERS/$user"; fi
  printf 'user %s\nwork %s\nsudo %s\n' "$user" "$leases/$user/work" "$([ "$sudo" = sudo ] && echo yes || echo no)"
}

cmd_revoke() {
  local user=$1 keys=$2 uid
  user_ok "$user"; path_ok "$keys"
  rm -f -- "$keys/$user" "$SUDOERS/$user"
  revoke_certificates "$user"
  if uid=$(id -u "$user" 2>/dev/null); then
    usermod --expiredate 1 "$user" >/dev/null 2>&1 || true
    kill_all "$uid" || echo "left processes of uid $uid survived SIGKILL"
  fi
  echo ok
}

cmd_scrub() {
  local user=$1 leases=$2 keys=$3 uid="" job left=0
  user_ok "$user"; path_ok "$leases"; path_ok "$keys"
  report() { printf 'left %s\n' "$*"; left=1; }
  rm -f -- "$keys/$user" "$keys/.$user.tmp" "$SUDOERS/$user"
  revoke_certificates "$user"
  uid=$(id -u "$user" 2>/dev/null || true)
  # Whether there was anything of the user to remove (the static provider's release reports it).
  if [ -n "$uid" ] || [ -e "$leases/$user" ] || [ -L "$leases/$user" ]; then echo found; fi
  if [ -n "$uid" ]; then
    usermod --expiredate 1 "$user" >/dev/null 2>&1 || true
    kill_all "$uid" || report "processes of uid $uid survived SIGKILL"
    if command -v crontab >/dev/null; then crontab -r -u "$user" 2>/dev/null || true; fi
    if command -v atq >/dev/null; then
      for job in $(atq 2>/dev/null | awk -v u="$user" '$NF == u { print $1 }'); do atrm "$job" 2>/dev/null || true; done
    fi
    if command -v ipcs >/dev/null; then
      for kind in m q s; do
        for id in $(ipcs -"$kind" 2>/dev/null | awk -v u="$user" '$3 == u { print $2 }'); do ipcrm -"$kind" "$id" 2>/dev/null || true; done
      done
    fi
    rm -f -- "/var/lib/systemd/linger/$user" "/var/mail/$user" "/var/spool/mail/$user"
  fi
  if [ -e "$leases/$user" ] || [ -L "$leases/$user" ]; then rm -rf --one-file-system -- "${leases:?}/$user"; fi
  if [ -n "$uid" ]; then
    # Depth first, through directory descriptors without following symlinks (GNU find): the UID's files and the
    # directories that are empty once those are gone. Anything else of the UID is reported below.
    for dir in "${SCRUB_DIRS[@]}"; do
      if [ -d "$dir" ]; then find "$dir" -xdev -depth -uid "$uid" -delete 2>/dev/null || true; fi
    done
    userdel "$user" 2>/dev/null || true
    if getent group "$user" >/dev/null; then groupdel "$user" 2>/dev/null || true; fi
    for dir in "${SCRUB_DIRS[@]}"; do
      [ -d "$dir" ] || continue
      while IFS= read -r path; do report "file $path"; done < <(find "$dir" -xdev -uid "$uid" -print 2>/dev/null | head -n 10)
    done
    if pgrep -U "$uid" >/dev/null 2>&1 || pgrep -u "$uid" >/dev/null 2>&1; then report "processes of uid $uid"; fi
  fi
  if id -u "$user" >/dev/null 2>&1; then report "user $user"; fi
  if [ -e "$keys/$user" ]; then report "key $keys/$user"; fi
  if [ -e "$SUDOERS/$user" ]; then report "sudoers entry $SUDOERS/$user"; fi
  if [ -e "$leases/$user" ]; then report "dir $leases/$user"; fi
  if [ -e "/var/spool/cron/crontabs/$user" ]; then report "crontab of $user"; fi
  if command -v atq >/dev/null && atq 2>/dev/null | awk -v u="$user" '$NF == u { found = 1 } END { exit !found }'; then report "at jobs of $user"; fi
  [ "$left" = 0 ] && echo clean
  return 0
}

command=${1:-}
shift || true
case $command in
  prepare) [ $# = 3 ] || die "usage: prepare <leases-root> <keys-dir> <yes|no>"; cmd_prepare "$@" ;;
  grant) [ $# = 4 ] || [ $# = 5 ] || die "usage: grant <user> <leases-root> <keys-dir> <access lines> [sudo|nosudo]"; cmd_grant "$@" ;;
  revoke) [ $# = 2 ] || die "usage: revoke <user> <keys-dir>"; cmd_revoke "$@" ;;
  scrub) [ $# = 3 ] || die "usage: scrub <user> <leases-root> <keys-dir>"; cmd_scrub "$@" ;;
  host-cert) [ $# = 1 ] || die "usage: host-cert <certificate line>"; cmd_host_cert "$@" ;;
  *) die "unknown command ${command:-none}" ;;
esac

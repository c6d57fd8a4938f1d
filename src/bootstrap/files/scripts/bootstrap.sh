#!/bin/bash
# Crabbox runner bootstrap: run once as root by cloud-init (runcmd). Idempotent.
# Reads /etc/crabbox/bootstrap.env; sets up the crabbox user, the pinned host key, key-only sshd on the
# lease's ports, the work root, the boot-time cleanup unit and the readiness marker. See docs/bootstrap.md.
set -euo pipefail

# shellcheck source=/dev/null
. /etc/crabbox/bootstrap.env
: "${CRABBOX_USER:?}" "${CRABBOX_WORK_ROOT:?}" "${CRABBOX_SSH_PORTS:?}" "${CRABBOX_PACKAGES:?}"
CRABBOX_USER_CA=${CRABBOX_USER_CA:-no}
CRABBOX_TUNNEL=${CRABBOX_TUNNEL:-no}
CRABBOX_LEASE_USER=${CRABBOX_LEASE_USER:-}
export DEBIAN_FRONTEND=noninteractive

log() { printf 'crabbox-bootstrap: %s\n' "$*"; }

retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 8 ]; then
      log "giving up after $attempt attempts: $*"
      return 1
    fi
    sleep $((attempt * 5))
    attempt=$((attempt + 1))
  done
}

# 1. Packages. Skipped when everything is already installed (images that ship them, or a re-run).
read -r -a packages <<<"$CRABBOX_PACKAGES"
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  printf 'Acquire::Retries "8";\nAcquire::http::Timeout "30";\nAcquire::https::Timeout "30";\n' >/etc/apt/apt.conf.d/80-crabbox-retries
  retry apt-get update -q
  retry apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "packages already installed"
fi

# 2. The admin user: no password (not locked, so key login works with PAM); the lease's key, or with a lease user
# (step 5a) only the installation admin key, if any.
if ! id -u "$CRABBOX_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --user-group "$CRABBOX_USER"
fi
usermod -p '*' "$CRABBOX_USER"
home=$(getent passwd "$CRABBOX_USER" | cut -d: -f6)
chmod 0700 "$home"
install -d -m 0700 -o "$CRABBOX_USER" -g "$CRABBOX_USER" "$home/.ssh"
if [ -s /etc/crabbox/authorized_keys ]; then
  install -m 0600 -o "$CRABBOX_USER" -g "$CRABBOX_USER" /etc/crabbox/authorized_keys "$home/.ssh/authorized_keys"
fi
rm -f /etc/crabbox/authorized_keys
# User CA (docs/ssh-ca.md): a lease's principal, not its key; an empty KRL (none: sshd refuses all).
install -d -m 0755 /etc/crabbox/principals
if [ "$CRABBOX_USER_CA" = yes ]; then
  [ -s /etc/crabbox/user_ca_keys ] || { log "no user CA keys"; exit 1; }
  if [ -s /etc/crabbox/principals.new ]; then
    install -m 0644 /etc/crabbox/principals.new "/etc/crabbox/principals/$CRABBOX_USER"
    rm -f "$home/.ssh/authorized_keys"
  fi
  [ -f /etc/crabbox/revoked_keys ] || ssh-keygen -q -k -f /etc/crabbox/revoked_keys
else
  rm -f /etc/crabbox/user_ca_keys
fi
rm -f /etc/crabbox/principals.new
# The admin user's sudo: on a box without a lease user the lease logs in as it (single-lease, disposable; runs may need
# packages); with one, only Crabbox's own management does.
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$CRABBOX_USER" >/etc/sudoers.d/90-crabbox
chmod 0440 /etc/sudoers.d/90-crabbox

# 3. The pinned host key replaces every other host key.
if [ -f /etc/crabbox/ssh_host_ed25519_key ]; then
  rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
  install -m 0600 /etc/crabbox/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
  install -m 0644 /etc/crabbox/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub
  rm -f /etc/crabbox/ssh_host_ed25519_key /etc/crabbox/ssh_host_ed25519_key.pub
fi

# 4. sshd: the lease's ports, key-only, crabbox only.
install -d -m 0755 /etc/ssh/sshd_config.d /run/sshd
{
  echo '# Written by the Crabbox bootstrap.'
  for port in $CRABBOX_SSH_PORTS; do echo "Port $port"; done
  # Tunnel mode: the connector reaches sshd on loopback; no public address has an SSH port.
  if [ "$CRABBOX_TUNNEL" = yes ]; then echo 'ListenAddress 127.0.0.1'; fi
  echo 'HostKey /etc/ssh/ssh_host_ed25519_key'
  if [ "$CRABBOX_USER_CA" = yes ]; then
    echo 'TrustedUserCAKeys /etc/crabbox/user_ca_keys'
    echo 'AuthorizedPrincipalsFile /etc/crabbox/principals/%u'
    echo 'RevokedKeys /etc/crabbox/revoked_keys'
    if [ -s "/etc/crabbox/principals/$CRABBOX_USER" ]; then echo 'AuthorizedKeysFile none'; fi
  fi
  echo 'PubkeyAuthentication yes'
  echo 'PasswordAuthentication no'
  echo 'KbdInteractiveAuthentication no'
  echo 'PermitRootLogin no'
  echo 'PermitEmptyPasswords no'
  echo 'AuthenticationMethods publickey'
  # cbx-*: a warm pool's lease users, each with its one key in a root-owned file (docs/pool.md).
  echo "AllowUsers $CRABBOX_USER cbx-*"
  echo 'X11Forwarding no'
  # Every concurrent run or rsync on a lease is one session on the CLI's ControlMaster (sshd's default is 10).
  echo 'MaxSessions 64'
  echo 'Match User cbx-*'
  if [ "$CRABBOX_USER_CA" = yes ]; then
    echo '  AuthorizedKeysFile none'
    echo '  AuthorizedPrincipalsFile /etc/crabbox/keys/%u'
  else
    echo '  AuthorizedKeysFile /etc/crabbox/keys/%u'
  fi
  echo '  AllowTcpForwarding no'
  echo '  AllowAgentForwarding no'
  echo '  PermitUserRC no'
} >/etc/ssh/sshd_config.d/10-crabbox.conf
chmod 0644 /etc/ssh/sshd_config.d/10-crabbox.conf
if ! grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config.d/' /etc/ssh/sshd_config; then
  sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
fi
/usr/sbin/sshd -t

# 5. Work root, the warm pool's lease key and lease dirs (root's; filled per lease over ssh), boot-time cleanup.
install -d -m 0755 /etc/crabbox/keys
install -d -m 0711 /var/lib/crabbox/leases
install -d -m 0755 "$(dirname "$CRABBOX_WORK_ROOT")"
install -d -m 0755 -o "$CRABBOX_USER" -g "$CRABBOX_USER" "$CRABBOX_WORK_ROOT"

# 5a. The lease's own user (a single-lease box with CRABBOX_LEASE_USER): made by the warm pool's script exactly as for
# a pool lease: cbx-<hex>, home and workdir 0700 under /var/lib/crabbox/leases, its key (or, with the user CA, its
# principal) in /etc/crabbox/keys, no sudo unless the coordinator granted it (CRABBOX_LEASE_SUDO). Idempotent.
if [ -n "$CRABBOX_LEASE_USER" ]; then
  /usr/local/lib/crabbox/pool-box.sh grant "$CRABBOX_LEASE_USER" /var/lib/crabbox/leases /etc/crabbox/keys "${CRABBOX_LEASE_KEY:?}" "${CRABBOX_LEASE_SUDO:-nosudo}" >/dev/null
  log "lease user $CRABBOX_LEASE_USER"
fi

# 5b. Tunnel mode: cloudflared from Cloudflare's signed apt repository, unless the image has it; the token stays in
# the root-only /etc/crabbox/tunnel.env that cloud-init wrote (the unit reads it into the environment).
if [ "$CRABBOX_TUNNEL" = yes ]; then
  [ -f /etc/crabbox/tunnel.env ] || { log "tunnel mode without /etc/crabbox/tunnel.env"; exit 1; }
  chown root:root /etc/crabbox/tunnel.env
  chmod 0600 /etc/crabbox/tunnel.env
  if ! command -v cloudflared >/dev/null 2>&1; then
    log "installing cloudflared"
    install -d -m 0755 /usr/share/keyrings
    retry curl -fsSL -o /usr/share/keyrings/cloudflare-main.gpg https://pkg.cloudflare.com/cloudflare-main.gpg
    echo 'deb [signed-by=/usr/share/keyrings/cloudflare-main.gpg] https://pkg.cloudflare.com/cloudflared any main' >/etc/apt/sources.list.d/cloudflared.list
    retry apt-get update -q
    retry apt-get install -y -q --no-install-recommends cloudflared
  fi
fi

# 6. Services (only when systemd runs this box; a chroot has none).
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable crabbox-clean-work.service
  if [ "$CRABBOX_TUNNEL" = yes ]; then systemctl enable --now crabbox-tunnel.service; fi
  if systemctl is-enabled --quiet ssh.socket 2>/dev/null; then
    # Socket-activated sshd (Ubuntu 24.04): the generator derives the listening ports from sshd_config.
    systemctl restart ssh.socket
  else
    systemctl restart ssh 2>/dev/null || systemctl restart sshd
  fi
fi

# 7. Ready.
install -d -m 0755 /var/lib/crabbox
date -u +%Y-%m-%dT%H:%M:%SZ >/var/lib/crabbox/ready
log "ready"

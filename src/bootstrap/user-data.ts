import { CrabboxError } from '../domain/errors.ts';
import { render } from './render.ts';
import { gzippedBootstrapFile, readBootstrapFile } from './files.ts';

/** Packages every runner needs; the bootstrap installs whichever are missing (with retries). */
export const RUNNER_PACKAGES = ['openssh-server', 'ca-certificates', 'git', 'rsync', 'curl', 'jq', 'sudo'];

/** The smaller of the clouds' limits: EC2 takes 16 KB of user data (before base64), Hetzner 32 KiB. */
export const MAX_USER_DATA_BYTES = 16 * 1024;

export interface UserDataInput {
  /** The lease's public key: the only key the box accepts. */
  sshPublicKey: string;
  /** The box's host key pair, generated for the lease so the client can pin it. */
  hostKey: { privateKey: string; publicKey: string };
  /** SSH ports, primary first. */
  ports: number[];
  /** The admin user (`crabbox`): keeps sudo, for Crabbox's own management only. */
  user: string;
  workRoot: string;
  /**
   * A single-lease box's own lease user (`cbx-<lease hex>`, docs/bootstrap.md). The bootstrap makes it with the warm
   * pool's script (`pool-box.sh grant`): home and workdir 0700, no sudo; the lease key (or, with a user CA, the
   * principal, which must be this name) is this user's only, and the admin user gets `adminKey` (or no login).
   */
  leaseUser?: string | undefined;
  /** With `leaseUser`: the installation admin key for the admin user; without one nobody logs in as the admin. */
  adminKey?: string | undefined;
  /** With `leaseUser`: the lease user may sudo (the coordinator's choice for the lease's class; decision 0060). */
  leaseSudo?: boolean | undefined;
  /**
   * The coordinator's SSH user CA (docs/ssh-ca.md): the box trusts certificates of these keys (one or two) and keeps
   * a revocation list. With `principal` (a single-lease box) a certificate naming it is the only login of the login
   * user, and `sshPublicKey` is written nowhere; without (a warm pool machine) the login user keeps `sshPublicKey`
   * (the installation admin key) and each lease user takes the principal its grant names.
   */
  userCa?: { publicKeys: string[]; principal?: string | undefined } | undefined;
  /**
   * Tunnel mode (docs/tunnel.md): the Cloudflare Tunnel connector token. The box gets it in a root-only file and runs
   * the connector as a service; sshd listens on loopback only.
   */
  tunnelToken?: string | undefined;
}

/** What a tunnel token looks like (base64 of the connector's JSON); anything else is refused before it reaches a file. */
const TUNNEL_TOKEN = /^[A-Za-z0-9+/=_-]{40,4096}$/;

const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( [^\n\r]*)?$/;

/**
 * The cloud-init user data for one lease, rendered from src/bootstrap/files. It takes only what the box needs:
 * no coordinator URL or token, no maintainer key, no provider credential can reach it.
 */
export function renderUserData(input: UserDataInput): string {
  const sshKey = input.sshPublicKey.trim();
  const hostPublic = input.hostKey.publicKey.trim();
  if (!PUBLIC_KEY.test(sshKey)) throw new CrabboxError('invalid_input', 'the lease SSH public key is not an OpenSSH public key');
  if (!/^ssh-ed25519 [A-Za-z0-9+/=]+( [^\n\r]*)?$/.test(hostPublic)) throw new CrabboxError('invalid_input', 'the host key must be an ed25519 OpenSSH public key');
  if (!/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n?$/.test(input.hostKey.privateKey.trim() + '\n')) {
    throw new CrabboxError('invalid_input', 'the host private key must be an OpenSSH private key');
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(input.user)) throw new CrabboxError('invalid_input', `invalid ssh user ${JSON.stringify(input.user)}`);
  if (!/^\/work\/[A-Za-z0-9._-]+$/.test(input.workRoot)) throw new CrabboxError('invalid_input', `work root must be /work/<name>, got ${JSON.stringify(input.workRoot)}`);
  if (input.ports.length === 0 || input.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new CrabboxError('invalid_input', 'invalid SSH port list');
  const ca = input.userCa;
  if (ca) {
    if (ca.publicKeys.length === 0 || ca.publicKeys.length > 2 || ca.publicKeys.some((k) => !/^ssh-ed25519 [A-Za-z0-9+/=]+( [^\n\r]*)?$/.test(k.trim()))) throw new CrabboxError('invalid_config', 'a box trusts one or two ssh-ed25519 SSH user CA keys');
    if (ca.principal !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(ca.principal)) throw new CrabboxError('internal', `invalid certificate principal ${JSON.stringify(ca.principal)}`);
  }

  const leaseUser = input.leaseUser;
  if (leaseUser !== undefined) {
    if (!/^cbx-[0-9a-f]{12}$/.test(leaseUser)) throw new CrabboxError('internal', `invalid lease user ${JSON.stringify(leaseUser)}`);
    if (ca && ca.principal !== leaseUser) throw new CrabboxError('internal', `the certificate principal must be the lease user ${leaseUser}`);
    if (input.adminKey !== undefined && !PUBLIC_KEY.test(input.adminKey.trim())) throw new CrabboxError('invalid_config', 'the admin SSH public key is not an OpenSSH public key');
  } else if (input.leaseSudo) {
    throw new CrabboxError('internal', 'sudo is granted to a lease user only: a warm pool machine gets it per claim');
  }

  if (input.tunnelToken !== undefined && !TUNNEL_TOKEN.test(input.tunnelToken)) throw new CrabboxError('invalid_input', 'the tunnel token is not a Cloudflare Tunnel token');

  const env = render(readBootstrapFile('bootstrap.env.tmpl'), {
    user: input.user,
    work_root: input.workRoot,
    ports: [...new Set(input.ports)].join(' '),
    packages: RUNNER_PACKAGES.join(' '),
    user_ca: ca ? 'yes' : 'no',
    tunnel: input.tunnelToken ? 'yes' : 'no',
    lease_user: leaseUser ?? '',
    lease_key: leaseUser === undefined ? '' : ca ? '-' : sshKey,
    lease_sudo: input.leaseSudo ? 'sudo' : 'nosudo',
  });
  // With a user CA on a single-lease box the lease key goes nowhere (its file is empty): the box trusts the CA and the
  // lease's principal (docs/ssh-ca.md). A pool machine's login user keeps its (admin) key.
  // With a lease user the admin user gets only the admin key (if any): the lease key is the lease user's.
  const authorizedKey = leaseUser !== undefined ? (input.adminKey ? input.adminKey.trim() + '\n' : '') : ca?.principal === undefined ? sshKey + '\n' : '';
  const base = render(readBootstrapFile('cloud-init.yaml.tmpl'), {
    host_private_key: input.hostKey.privateKey.trim() + '\n',
    host_public_key: hostPublic + '\n',
    bootstrap_env: env,
    authorized_key: authorizedKey,
    bootstrap_sh_gz: gzippedBootstrapFile('scripts/bootstrap.sh'),
    clean_work_sh_gz: gzippedBootstrapFile('scripts/clean-work.sh'),
    ready_sh_gz: gzippedBootstrapFile('scripts/crabbox-ready.sh'),
    clean_work_unit: readBootstrapFile('crabbox-clean-work.service'),
  });
  const withCa = ca
    ? beforeRuncmd(base, render(readBootstrapFile('user-ca-files.yaml.tmpl'), {
        user_ca_keys: `${ca.publicKeys.map((k) => k.trim().split(/\s+/).slice(0, 2).join(' ')).join('\n')}\n`,
        // A lease user's principal file comes from pool-box.sh grant; the admin user then has no principal.
        principals: ca.principal === undefined || leaseUser !== undefined ? '' : `${ca.principal}\n`,
      }))
    : base;
  const withUser = leaseUser !== undefined ? beforeRuncmd(withCa, render(readBootstrapFile('lease-user-files.yaml.tmpl'), { pool_box_sh_gz: gzippedBootstrapFile('pool-box.sh') })) : withCa;
  const text = input.tunnelToken ? withTunnelFiles(withUser, input.tunnelToken) : withUser;
  if (Buffer.byteLength(text) > MAX_USER_DATA_BYTES) throw new CrabboxError('internal', `rendered user data is ${Buffer.byteLength(text)} bytes, over the ${MAX_USER_DATA_BYTES}-byte limit`);
  return text;
}

/** Adds tunnel mode's two files (the root-only token, the connector unit) at the end of `write_files`. */
function withTunnelFiles(base: string, token: string): string {
  return beforeRuncmd(base, render(readBootstrapFile('tunnel-files.yaml.tmpl'), { tunnel_env: `TUNNEL_TOKEN=${token}\n`, tunnel_unit: readBootstrapFile('crabbox-tunnel.service') }));
}

/** Puts more `write_files` entries at the end of that list (right before `runcmd`). */
function beforeRuncmd(base: string, files: string): string {
  const at = base.indexOf('\nruncmd:\n');
  if (at < 0 || base.indexOf('\nruncmd:\n', at + 1) >= 0) throw new CrabboxError('internal', 'the cloud-init template has no single runcmd section to put more files before');
  return `${base.slice(0, at + 1)}${files}${base.slice(at + 1)}`;
}

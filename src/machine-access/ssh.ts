import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { privateDir, sshCapture, writeKnownHosts, type SshTarget } from '../ssh/index.ts';
import { shellQuote } from '../ssh/quote.ts';
import { LEASE_USER, type AccessTarget, type GrantedAccess, type LeaseGrant, type MachineAccess, type ScrubReport } from './access.ts';

/** Where lease users' keys and dirs live on a remote pool box (docs/pool.md; the cloud bootstrap sets sshd up for them). */
export const REMOTE_KEYS_DIR = '/etc/crabbox/keys';
export const REMOTE_LEASES_ROOT = '/var/lib/crabbox/leases';

export interface SshAccessOptions {
  /** The installation admin private key (a coordinator secret: a 0600 file, never in the database). */
  adminKeyFile: string;
  /** Private dir for the pinned known_hosts files of pool machines. */
  stateDir: string;
  /** Cloud boxes: prepare waits for the bootstrap's ready marker. Static hosts have none. */
  requireReady: boolean;
  keysDir?: string | undefined;
  leasesRoot?: string | undefined;
  connectTimeoutSeconds?: number | undefined;
  clock?: Clock | undefined;
}

/** Finds scripts/pool-box.sh in the package (from src/ and from the dist/ bundle alike). */
export function poolBoxScript(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    for (const candidate of [join(dir, 'scripts', 'pool-box.sh'), join(dir, 'src', 'machine-access', 'scripts', 'pool-box.sh')]) {
      if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('crabbox: src/machine-access/scripts/pool-box.sh is missing from the package');
    dir = parent;
  }
}

/** Runs the script as root: directly for a root admin, else through passwordless sudo (the cloud bootstrap's crabbox user). */
const AS_ROOT = 'if [ "$(id -u)" = 0 ]; then exec bash -s -- "$@"; else exec sudo -n bash -s -- "$@"; fi';

/** The remote command line that runs pool-box.sh (sent on stdin) as root with `args`. */
export function poolBoxCommand(args: string[]): string {
  return shellQuote(['sh', '-c', AS_ROOT, 'crabbox', ...args]);
}

/** The work root `pool-box.sh grant` reported, if it did. */
export function grantedWorkRoot(stdout: string): string | undefined {
  return /^work (\S+)$/m.exec(stdout)?.[1];
}

/** What `pool-box.sh scrub` printed, as a report (an output without `clean` and without `left` lines is not clean). */
export function scrubReport(stdout: string): ScrubReport {
  const left = stdout.split('\n').filter((l) => l.startsWith('left ')).map((l) => l.slice(5));
  if (left.length === 0 && !/^clean$/m.test(stdout)) return { clean: false, left: ['the scrub did not report'] };
  return { clean: left.length === 0, left: left.slice(0, 20) };
}

/**
 * MachineAccess over ssh with the installation admin key: cloud pool boxes (the bootstrap's `crabbox` user, sudo) and
 * static hosts of the `ssh` provider (the configured user, root or passwordless sudo). Every step is
 * scripts/pool-box.sh, sent on stdin, arguments as argv; the host key is pinned to the machine's.
 */
export function createSshMachineAccess(options: SshAccessOptions): MachineAccess {
  const clock = options.clock ?? systemClock;
  const keysDir = options.keysDir ?? REMOTE_KEYS_DIR;
  const leasesRoot = options.leasesRoot ?? REMOTE_LEASES_ROOT;
  const script = poolBoxScript();
  const pinDir = join(options.stateDir, 'pool-known-hosts');

  async function target(machine: AccessTarget): Promise<SshTarget> {
    if (!machine.host || machine.ports.length === 0 || !machine.adminUser || !machine.hostKey) throw new CrabboxError('internal', `machine ${machine.id} has no address, admin user or host key yet`);
    await privateDir(pinDir);
    const knownHostsFile = join(pinDir, machine.id);
    await writeKnownHosts(knownHostsFile, machine.host, machine.ports, machine.hostKey);
    return {
      host: machine.host, ports: machine.ports, user: machine.adminUser, identityFile: options.adminKeyFile, knownHostsFile, controlPath: 'none',
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 10, oneShot: true,
    };
  }

  async function run(machine: AccessTarget, args: string[], signal?: AbortSignal): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const t = await target(machine);
    // One-shot targets use the first port: a box listening on a fallback port only is tried on each in turn.
    let last: unknown;
    for (const port of machine.ports) {
      try {
        return await sshCapture({ ...t, ports: [port] }, poolBoxCommand(args), { stdin: script, ...(signal ? { signal } : {}) });
      } catch (error) {
        last = error;
        if (isCrabboxError(error) && error.code === 'host_key_mismatch') throw error;
      }
    }
    throw last;
  }

  function failed(machine: AccessTarget, what: string, r: { exitCode: number; stderr: string }): CrabboxError {
    const line = redact(r.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200);
    return new CrabboxError('provider_error', `pool machine ${machine.id}: ${what} failed (exit ${r.exitCode})${line ? `: ${line}` : ''}`);
  }

  const checkUser = (user: string): void => {
    if (!LEASE_USER.test(user)) throw new CrabboxError('internal', `refusing to manage user ${JSON.stringify(user)}: not a crabbox lease user`);
  };

  return {
    async prepare(machine, o = {}) {
      const deadline = o.deadline ?? clock.now() + 60_000;
      for (let wait = 1000; ; wait = Math.min(wait * 2, 10_000)) {
        let r: { exitCode: number; stderr: string } | undefined;
        let error: unknown;
        try {
          r = await run(machine, ['prepare', leasesRoot, keysDir, options.requireReady ? 'yes' : 'no'], o.signal);
          if (r.exitCode === 0) return;
          if (r.exitCode !== 75 && r.exitCode !== 255) throw failed(machine, 'prepare', r);
        } catch (caught) {
          if (isCrabboxError(caught) && caught.code === 'host_key_mismatch') throw caught;
          if (isCrabboxError(caught) && caught.code === 'provider_error') throw caught;
          error = caught;
        }
        if (clock.now() + wait > deadline || o.signal?.aborted) {
          throw error ?? failed(machine, 'waiting for the box', r ?? { exitCode: 255, stderr: '' });
        }
        await clock.sleep(wait, o.signal);
      }
    },

    async certifyHost(machine, certificate, o = {}) {
      const r = await run(machine, ['host-cert', certificate.trim()], o.signal);
      if (r.exitCode !== 0) throw failed(machine, 'installing the host certificate', r);
      // sshd rereads its config after a HUP (a short restart): the box must answer with the certificate, and a
      // known_hosts that trusts only the host CA, before the machine goes idle.
      const certified = { ...machine, hostKey: certificate };
      const deadline = o.deadline ?? clock.now() + 30_000;
      for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
        let error: unknown;
        try {
          const check = await run(certified, ['prepare', leasesRoot, keysDir, 'no'], o.signal);
          if (check.exitCode === 0) return;
          error = failed(machine, 'checking the host certificate', check);
        } catch (caught) {
          error = caught;
        }
        if (clock.now() + wait > deadline || o.signal?.aborted) throw error;
        await clock.sleep(wait, o.signal);
      }
    },

    async grant(machine, grant: LeaseGrant, o = {}): Promise<GrantedAccess> {
      checkUser(grant.user);
      const r = await run(machine, ['grant', grant.user, leasesRoot, keysDir, grant.publicKey.trim(), grant.sudo ? 'sudo' : 'nosudo'], o.signal);
      if (r.exitCode !== 0) throw failed(machine, 'granting the lease', r);
      const work = grantedWorkRoot(r.stdout);
      if (!work) throw failed(machine, 'granting the lease (no work root reported)', r);
      return { sshUser: grant.user, workRoot: work };
    },

    async revoke(machine, user, o = {}) {
      checkUser(user);
      const r = await run(machine, ['revoke', user, keysDir], o.signal);
      if (r.exitCode !== 0) throw failed(machine, 'revoking the lease', r);
    },

    async scrub(machine, user, o = {}): Promise<ScrubReport> {
      checkUser(user);
      const r = await run(machine, ['scrub', user, leasesRoot, keysDir], o.signal);
      if (r.exitCode !== 0) throw failed(machine, 'scrubbing', r);
      return scrubReport(r.stdout);
    },
  };
}

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { CreateOptions, DeleteResult, Machine, MachineSpec, Provider } from '../provider.ts';
import { LABEL, type Labels } from '../../domain/labels.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { PUBLIC_KEY_PATTERN } from '../../config/schema.ts';
import { privateDir, sshCapture, writeKnownHosts, type SshTarget } from '../../ssh/index.ts';
import type { Transport } from '../../domain/transport.ts';
import { resolveStaticHosts, type StaticHost, type StaticHostConfig } from './hosts.ts';
import { parseInspect, remote, type HostClaim } from './remote.ts';
import { leaseUser } from '../../machine-access/access.ts';
import { grantedWorkRoot, poolBoxCommand, poolBoxScript, REMOTE_KEYS_DIR, REMOTE_LEASES_ROOT, scrubReport } from '../../machine-access/ssh.ts';

export interface StaticProviderOptions {
  /** `static.hosts` from the user config. */
  hosts: readonly StaticHostConfig[] | undefined;
  /** The CLI user's state dir; pinned known_hosts files for the pool live under `<stateDir>/static/`. */
  stateDir: string;
  connectTimeoutSeconds?: number | undefined;
  /** The user's proxy (user config `proxy`): the admin connections go the same way as the lease's own. */
  transport?: Transport | undefined;
  /** Home dir used to expand `~/` in identityFile (tests). */
  home?: string | undefined;
  /** Where lease users' keys and dirs live on hosts with `leaseUsers` (default: the pool's, docs/pool.md; tests). */
  leaseUserDirs?: { keysDir: string; leasesRoot: string } | undefined;
}

/** The marker comment that ends a lease's authorized_keys line, so release removes exactly that line. */
export const keyMarker = (leaseId: string): string => `crabbox-lease:${leaseId}`;

/** The line create appends to the host user's authorized_keys: no agent or X11 forwarding, the lease key, the marker. */
export function authorizedKeyLine(leaseId: string, publicKey: string): string {
  const key = publicKey.trim();
  if (!PUBLIC_KEY_PATTERN.test(key)) throw new CrabboxError('bad_request', 'the lease public key is not an OpenSSH public key line');
  return `no-agent-forwarding,no-X11-forwarding ${key.split(/\s+/).slice(0, 2).join(' ')} ${keyMarker(leaseId)}`;
}

/**
 * With the coordinator's SSH user CA (docs/ssh-ca.md), the lines create appends instead of the lease key: one
 * `cert-authority` line per trusted CA key, limited to the lease's principal, so only a certificate of that CA for that
 * lease logs in as the host user. Removed at release like the key line (the same marker), which revokes at once.
 */
export function certAuthorityLines(leaseId: string, userCa: { publicKeys: string[]; principal: string }): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(userCa.principal)) throw new CrabboxError('internal', `invalid certificate principal ${JSON.stringify(userCa.principal)}`);
  if (userCa.publicKeys.length === 0 || userCa.publicKeys.length > 2) throw new CrabboxError('invalid_config', 'a host trusts one or two SSH user CA keys');
  return userCa.publicKeys.map((line) => {
    const key = line.trim().split(/\s+/).slice(0, 2).join(' ');
    if (!/^ssh-ed25519 [A-Za-z0-9+/=]+$/.test(key)) throw new CrabboxError('invalid_config', 'an SSH user CA key must be an ssh-ed25519 public key line');
    return `cert-authority,principals="${userCa.principal}",no-agent-forwarding,no-X11-forwarding ${key} ${keyMarker(leaseId)}`;
  }).join('\n');
}

/** The lease's access lines: the CA's for a single-lease claim when the coordinator has one, else the lease key's. */
function accessLines(spec: MachineSpec): string {
  const principal = spec.shared ? undefined : spec.userCa?.principal;
  return principal ? certAuthorityLines(spec.leaseId, { publicKeys: spec.userCa!.publicKeys, principal }) : authorizedKeyLine(spec.leaseId, spec.sshPublicKey);
}

interface HostState {
  host: StaticHost;
  claim?: HostClaim | undefined;
  error?: unknown;
}

/**
 * The `ssh` provider: a static pool of existing Linux hosts ("bring your own machines"). A lease claims one free host
 * with an atomic symlink on the host, gets its key added to the host user's authorized_keys and a workdir under the
 * host's work root; release undoes exactly that. Hosts are never created, deleted or otherwise changed.
 */
export function createStaticProvider(options: StaticProviderOptions): Provider {
  const hosts = resolveStaticHosts(options.hosts, options.home);
  const pinDir = join(options.stateDir, 'static');
  const pinned = new Map<string, Promise<string>>();
  const keysDir = options.leaseUserDirs?.keysDir ?? REMOTE_KEYS_DIR;
  const leasesRoot = options.leaseUserDirs?.leasesRoot ?? REMOTE_LEASES_ROOT;
  let script: string | undefined;
  const poolBox = (): string => (script ??= poolBoxScript());

  function knownHosts(host: StaticHost): Promise<string> {
    let file = pinned.get(host.name);
    if (!file) {
      const path = join(pinDir, `${createHash('sha256').update(host.name).digest('hex').slice(0, 16)}.known_hosts`);
      file = privateDir(pinDir).then(() => writeKnownHosts(path, host.host, [host.port], host.hostKey)).then(() => path);
      pinned.set(host.name, file);
    }
    return file;
  }

  /** Runs one remote script with the host's admin identity over its own short-lived connection. */
  async function run(host: StaticHost, command: string, stdin?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const target: SshTarget = {
      host: host.host,
      ports: [host.port],
      user: host.user,
      identityFile: host.identityFile,
      knownHostsFile: await knownHosts(host),
      controlPath: 'none',
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 10,
      oneShot: true,
      ...(options.transport ? { transport: options.transport } : {}),
    };
    try {
      return await sshCapture(target, command, stdin === undefined ? {} : { stdin });
    } catch (error) {
      if (isCrabboxError(error) && error.code === 'host_key_mismatch') {
        throw new CrabboxError('host_key_mismatch', `static host ${host.name} presented a host key that does not match its configured hostKey; refusing to connect`, {
          hint: `verify the key on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and fix hostKey in static.hosts`,
        });
      }
      throw error;
    }
  }

  function failed(host: StaticHost, what: string, result: { exitCode: number; stderr: string }): CrabboxError {
    const line = result.stderr.trim().split('\n').at(-1) ?? '';
    return new CrabboxError('provider_error', `static host ${host.name}: ${what} failed (exit ${result.exitCode})${line ? `: ${line.slice(0, 200)}` : ''}`);
  }

  async function inspect(host: StaticHost): Promise<HostClaim> {
    const result = await run(host, remote.inspect(host.workRoot));
    if (result.exitCode !== 0) throw failed(host, 'reading the claim', result);
    return parseInspect(result.stdout);
  }

  /** Every host's claim; a pinned-key refusal anywhere is fatal, other failures are reported per host. */
  async function inspectAll(): Promise<HostState[]> {
    const settled = await Promise.allSettled(hosts.map(inspect));
    const out = settled.map((s, i): HostState => (s.status === 'fulfilled' ? { host: hosts[i]!, claim: s.value } : { host: hosts[i]!, error: s.reason as unknown }));
    const mismatch = out.find((o) => isCrabboxError(o.error) && o.error.code === 'host_key_mismatch');
    if (mismatch) throw mismatch.error;
    return out;
  }

  function toMachine(host: StaticHost, leaseId: string, root: string, labels: Labels): Machine {
    const created = Number(labels[LABEL.created]);
    const user = host.leaseUsers ? leaseUser(leaseId) : undefined;
    return {
      provider: 'ssh',
      providerId: leaseId,
      host: host.host,
      ports: [host.port],
      sshUser: user ?? host.user,
      workRoot: user ? `${leasesRoot}/${user}/work` : `${root}/${leaseId}/work`,
      // With per-lease users the configured user is only Crabbox's admin account on the host.
      ...(user ? { adminUser: host.user } : {}),
      hostKey: host.hostKey,
      labels: { ...labels },
      status: 'running',
      createdAt: Number.isFinite(created) && created > 0 ? created * 1000 : undefined,
    };
  }

  async function installKey(host: StaticHost, spec: MachineSpec): Promise<void> {
    if (host.leaseUsers) return grantUser(host, spec);
    const result = await run(host, remote.installKey(host.workRoot, spec.leaseId, accessLines(spec)));
    // The claim went while the create was in flight: a release ran, and it wins (no key line is added after it).
    if (result.exitCode === 3) throw new CrabboxError('lease_not_active', `lease ${spec.leaseId} was released while static host ${host.name} was being set up`);
    if (result.exitCode !== 0) throw failed(host, 'adding the lease key', result);
  }

  /**
   * On a host with per-lease users: the lease's own user `cbx-<hex>`, with the lease's access lines in the root-owned
   * keys dir and a 0700 home and workdir (pool-box.sh grant, as root), made only while the lease holds the claim.
   */
  async function grantUser(host: StaticHost, spec: MachineSpec): Promise<void> {
    const user = leaseUser(spec.leaseId);
    const args = ['grant', user, leasesRoot, keysDir, accessLines(spec), host.sudo ? 'sudo' : 'nosudo'];
    const result = await run(host, remote.grantIfClaimed(host.workRoot, spec.leaseId, args), poolBox());
    if (result.exitCode === 3) throw new CrabboxError('lease_not_active', `lease ${spec.leaseId} was released while static host ${host.name} was being set up`);
    if (result.exitCode !== 0) throw failed(host, 'making the lease user', result);
    if (grantedWorkRoot(result.stdout) !== `${leasesRoot}/${user}/work`) throw failed(host, 'making the lease user (no work root reported)', result);
  }

  /** Removes everything of the lease's user from a host with per-lease users (pool-box.sh scrub); true if it was there. */
  async function scrubUser(host: StaticHost, leaseId: string): Promise<boolean> {
    const user = leaseUser(leaseId);
    const result = await run(host, poolBoxCommand(['scrub', user, leasesRoot, keysDir]), poolBox());
    if (result.exitCode !== 0) throw failed(host, 'removing the lease user', result);
    const report = scrubReport(result.stdout);
    if (!report.clean) throw new CrabboxError('provider_error', `static host ${host.name}: the lease user ${user} was not removed completely: ${report.left.join('; ').slice(0, 300)}`);
    return /^found$/m.test(result.stdout);
  }

  async function releaseOn(host: StaticHost, leaseId: string): Promise<boolean> {
    const result = await run(host, remote.release(host.workRoot, leaseId));
    if (result.exitCode !== 0) throw failed(host, 'releasing the lease', result);
    const found = /found 1/.test(result.stdout);
    // The claim is gone first (under the lock a grant holds), so no user is made after this scrub.
    return host.leaseUsers ? (await scrubUser(host, leaseId)) || found : found;
  }

  async function find(leaseId: string): Promise<{ host: StaticHost; claim: HostClaim } | undefined> {
    const all = await inspectAll();
    const mine = all.find((o) => o.claim?.owner === leaseId);
    if (mine?.claim) return { host: mine.host, claim: mine.claim };
    const unreachable = all.find((o) => o.error);
    if (unreachable) throw unreachable.error;
    return undefined;
  }

  return {
    name: 'ssh',
    capabilities: { labels: true, injectsHostKey: false, billable: false, local: false, danglingObjects: false, userCa: true },

    async create(spec: MachineSpec, createOptions: CreateOptions = {}): Promise<Machine> {
      if (!isLeaseId(spec.leaseId)) throw new CrabboxError('bad_request', `malformed lease id ${JSON.stringify(spec.leaseId)}`);
      accessLines(spec);
      // A warm pool makes its own lease users on its machines: it never takes a host that makes them per claim.
      const all = (await inspectAll()).filter((o) => !(spec.shared && o.host.leaseUsers));
      const mine = all.find((o) => o.claim?.owner === spec.leaseId);
      if (mine?.claim) {
        await createOptions.onProviderId?.(spec.leaseId);
        await installKey(mine.host, spec);
        return toMachine(mine.host, spec.leaseId, mine.claim.root, mine.claim.labels ?? spec.labels);
      }
      let claimed = 0;
      const unreachable: string[] = [];
      for (const { host, claim, error } of all) {
        if (error) {
          unreachable.push(`${host.name}: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        if (claim?.owner) {
          claimed++;
          continue;
        }
        const result = await run(host, remote.claim(host.workRoot, spec.leaseId), JSON.stringify(spec.labels));
        if (result.exitCode !== 0) throw failed(host, 'claiming the host', result);
        const line = result.stdout.trim();
        if (!line.startsWith('claimed ')) {
          claimed++;
          continue;
        }
        await createOptions.onProviderId?.(spec.leaseId);
        try {
          await installKey(host, spec);
        } catch (error) {
          await releaseOn(host, spec.leaseId).catch(() => undefined);
          throw error;
        }
        return toMachine(host, spec.leaseId, line.slice('claimed '.length), spec.labels);
      }
      const parts = [`${claimed} of ${hosts.length} claimed by other leases`, ...(unreachable.length ? [`unreachable: ${unreachable.join('; ')}`] : [])];
      throw new CrabboxError('no_free_host', `no free host in the ssh pool (${parts.join(', ')})`, {
        hint: 'try again once a lease is released (`crabbox list`), or add hosts to static.hosts',
      });
    },

    async get(providerId: string): Promise<Machine | undefined> {
      if (!isLeaseId(providerId)) return undefined;
      const found = await find(providerId);
      return found ? toMachine(found.host, providerId, found.claim.root, found.claim.labels ?? {}) : undefined;
    },

    async list(selector: Labels): Promise<Machine[]> {
      const out: Machine[] = [];
      for (const { host, claim } of await inspectAll()) {
        if (!claim || !isLeaseId(claim.owner) || !claim.labels) continue;
        const labels = claim.labels;
        if (Object.entries(selector).every(([k, v]) => labels[k] === v)) out.push(toMachine(host, claim.owner, claim.root, labels));
      }
      return out;
    },

    async setLabels(providerId: string, labels: Labels): Promise<void> {
      const found = isLeaseId(providerId) ? await find(providerId) : undefined;
      if (!found) throw new CrabboxError('not_found', `no static host is claimed by ${providerId}`);
      const result = await run(found.host, remote.setLabels(found.host.workRoot, providerId), JSON.stringify(labels));
      if (result.exitCode === 3) throw new CrabboxError('not_found', `static host ${found.host.name} is no longer claimed by ${providerId}`);
      if (result.exitCode !== 0) throw failed(found.host, 'writing labels', result);
    },

    async delete(providerId: string): Promise<DeleteResult> {
      if (!isLeaseId(providerId)) return 'already-gone';
      // Every host is cleaned of this lease: a crash may have left a key line or a dir on a host it never claimed.
      const settled = await Promise.allSettled(hosts.map((host) => releaseOn(host, providerId)));
      if (settled.some((s) => s.status === 'fulfilled' && s.value)) return 'deleted';
      const failure = settled.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
      return 'already-gone';
    },

    async hourlyPrice(): Promise<number | undefined> {
      return 0;
    },
  };
}

import type { Config } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { Machine, Provider } from '../providers/provider.ts';
import { CrabboxError } from '../domain/errors.ts';
import { newLeaseId, newMachineId, parseLeaseRef, uniqueSlug, type LeaseRef } from '../domain/ids.ts';
import { LABEL, labelValue, leaseLabels } from '../domain/labels.ts';
import { isLive, type Lease } from '../domain/lease.ts';
import { describeTimingProblem, FLAG_NAMES } from '../domain/lease-timing.ts';
import { endLease, startLease, touch as touchLease } from '../domain/lifecycle.ts';
import { closeMaster, createClientKey, createHostKey, leaseKeyDir, leaseTarget, removeLeaseKeys, writeKnownHosts, leaseKeyPaths, type SshTarget } from '../ssh/index.ts';
import { waitBootstrapped } from '../ssh/ready.ts';
import { readLeaseTransport, writeLeaseTransport } from '../ssh/transport.ts';
import { DIRECT, describeTransport } from '../domain/transport.ts';
import { leaseFromMachine, type DirectLease } from './record.ts';
import { discardLease } from './remove.ts';
import { findTombstone } from './tombstone.ts';
import { endedLeaseError } from '../domain/ended.ts';
import { findIndexed, readIndexEntry, writeIndexEntry } from './lease-index.ts';
import { loadTouched, saveTouched, touchedRecently } from './touched.ts';
import { leaseService, type CreateRequest, type LeaseHandle, type LeaseService, type ReleaseResult } from './service.ts';

/** Which CLI installation made a machine; direct-mode machines all say `cli`. */
export const DIRECT_INSTALLATION = 'cli';

export interface DirectLeaseOptions {
  config: Pick<Config, 'owner' | 'org' | 'lease' | 'ssh' | 'paths' | 'coordinator' | 'proxy'>;
  provider: Provider;
  clock: Clock;
  /** Diagnostics (debug lines). */
  log?: ((line: string) => void) | undefined;
  /** How long a new box may take to answer ssh. */
  readyTimeoutMs?: number | undefined;
  /** Mints lease ids (tests pin them). */
  newId?: (() => string) | undefined;
  /** How readiness is proven; default: ssh's waitReady over the lease's own transport. */
  waitReady?: ((target: SshTarget, deadline: number, options: { clock: Clock; signal?: AbortSignal }) => Promise<unknown>) | undefined;
  /**
   * The caller's CIDR for the box's SSH firewall (src/net/caller.ts). Asked only for billable, non-local providers;
   * undefined leaves the provider's documented behaviour (its operator override, or a refusal).
   */
  callerCidr?: (() => Promise<string | undefined>) | undefined;
}

/** Direct mode: the CLI talks to the provider itself and keeps lease state in the machine's labels. */
export type DirectLeaseService = LeaseService;
export type { CreateRequest, LeaseHandle, ReleaseResult } from './service.ts';

/** Creates the direct-mode lease service for one provider. */
export function createDirectLeaseService(options: DirectLeaseOptions): DirectLeaseService {
  const { config, provider, clock } = options;
  const log = options.log ?? ((): void => undefined);
  const owner = labelValue(config.owner);
  const keyDirOf = (id: string): string => leaseKeyDir(config.paths.stateDir, id);

  async function ownLeases(): Promise<DirectLease[]> {
    const machines = await provider.list({ [LABEL.marker]: 'true' });
    return machines
      .map(leaseFromMachine)
      .filter((l): l is DirectLease => l !== undefined && l.owner === owner)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  function findIn(leases: DirectLease[], ref: LeaseRef): DirectLease | undefined {
    return leases.find((l) => (ref.kind === 'id' ? l.id === ref.value : l.slug === ref.value && isLive(l.state))) ?? leases.find((l) => l.slug === ref.value);
  }

  /** One of ours, by the machine the provider has under `providerId`; undefined when gone or not ours. */
  async function byProviderId(providerId: string, id: string): Promise<DirectLease | undefined> {
    const machine = await provider.get(providerId);
    const lease = machine ? leaseFromMachine(machine) : undefined;
    return lease && lease.owner === owner && lease.id === id ? lease : undefined;
  }

  /**
   * Fast lookup: an indexed ref (or any id, for the local provider, which keys machines by lease id) is one
   * `provider.get`; only an unindexed ref lists the provider's machines.
   */
  async function find(parsed: LeaseRef): Promise<DirectLease | undefined> {
    const entry = await findIndexed(config.paths.stateDir, parsed);
    if (entry && entry.provider === provider.name) {
      const lease = await byProviderId(entry.providerId, entry.id);
      if (lease || parsed.kind === 'id') return lease;
    } else if (parsed.kind === 'id' && provider.capabilities.local) {
      return byProviderId(parsed.value, parsed.value);
    }
    return findIn(await ownLeases(), parsed);
  }

  /** A lease by ref: a live or ended one the provider still has, else one ended here within the week (its tombstone). */
  async function resolve(ref: string): Promise<DirectLease> {
    const parsed = parseLeaseRef(ref);
    const lease = (await find(parsed)) ?? (await findTombstone(config.paths.stateDir, parsed, owner, clock.now()));
    if (!lease) throw new CrabboxError('lease_not_found', `no lease ${parsed.value}`, { hint: 'run `crabbox list` to see your leases' });
    return lease;
  }

  function target(lease: DirectLease): SshTarget {
    const machine = lease.machine;
    if (!machine || !machine.host || machine.ports.length === 0) throw new CrabboxError('lease_not_active', `lease ${lease.id} has no reachable machine yet`);
    const keyDir = keyDirOf(lease.id);
    // The transport recorded when the lease was made, not today's config: a live lease is never rerouted.
    return leaseTarget({ keyDir, leaseId: lease.id, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: config.ssh.connectTimeoutSeconds, transport: readLeaseTransport(keyDir) });
  }

  async function writeLabels(lease: Lease & { machineId?: string | undefined }): Promise<void> {
    if (!lease.machine) return;
    await provider.setLabels(lease.machine.providerId, leaseLabels({ lease, installation: DIRECT_INSTALLATION, machineId: lease.machineId }));
  }

  async function create(request: CreateRequest = {}): Promise<LeaseHandle> {
    const now = clock.now();
    const id = (options.newId ?? newLeaseId)();
    const taken = (await ownLeases()).filter((l) => isLive(l.state)).map((l) => l.slug);
    const slug = uniqueSlug(id, taken);
    const started = startLease(
      { ttlSeconds: request.ttlSeconds ?? config.lease.ttlSeconds, idleTimeoutSeconds: request.idleTimeoutSeconds ?? config.lease.idleTimeoutSeconds, keep: request.keep ?? config.lease.keep },
      {},
      now,
    );
    if (!started.ok) throw new CrabboxError('bad_request', describeTimingProblem(started.problem, FLAG_NAMES));
    const draft: Lease = {
      id,
      slug,
      owner: config.owner,
      org: config.org,
      provider: provider.name,
      class: request.class ?? config.lease.class,
      state: 'provisioning',
      ...started.start,
    };
    // Direct mode keeps one machine per lease and no record of it beyond its labels; the id names it the same way.
    const machineId = newMachineId();
    const keyDir = keyDirOf(id);
    // The user's proxy (user config only) for boxes elsewhere; a local box is on this machine and always direct.
    const transport = provider.capabilities.local ? DIRECT : (config.proxy ?? DIRECT);
    let providerId: string | undefined;
    let tgt: SshTarget | undefined;
    try {
      const sshPublicKey = await createClientKey(keyDir, id);
      writeLeaseTransport(keyDir, transport);
      const hostKey = await createHostKey(id);
      const wantsCidr = provider.capabilities.billable && !provider.capabilities.local;
      const caller = wantsCidr ? await options.callerCidr?.() : undefined;
      const machine = await provider.create(
        {
          leaseId: id, slug, labels: leaseLabels({ lease: draft, installation: DIRECT_INSTALLATION, machineId }), sshPublicKey, hostKey, class: draft.class, type: request.type ?? config.lease.type,
          ...(caller ? { allowedCidrs: [caller] } : {}),
        },
        { signal: request.signal, onProviderId: (pid) => void (providerId = pid) },
      );
      providerId = machine.providerId;
      const pinned = provider.capabilities.injectsHostKey ? hostKey.publicKey : machine.hostKey;
      if (!pinned) throw new CrabboxError('provider_error', `provider ${provider.name} did not report the box's host key; refusing to connect unpinned`);
      await writeKnownHosts(leaseKeyPaths(keyDir).knownHosts, machine.host, machine.ports, pinned);
      await writeIndexEntry(config.paths.stateDir, { id, provider: provider.name, slug, providerId: machine.providerId, createdAt: now });
      const lease = { ...leaseFromMachineOrThrow(machine), slug };
      tgt = target(lease);
      log(`lease ${id}: waiting for ssh on ${machine.host}:${machine.ports.join(',')} (${describeTransport(transport)})`);
      const readyCommand = provider.capabilities.readyCommand;
      const wait = options.waitReady ?? ((t: SshTarget, deadline: number, o: { clock: Clock; signal?: AbortSignal }) => waitBootstrapped(t, readyCommand, deadline, { ...o, log: (line) => log(`lease ${id}: ${line}`) }));
      await wait(tgt, clock.now() + (options.readyTimeoutMs ?? 120_000), { clock, ...(request.signal ? { signal: request.signal } : {}) });
      const active: DirectLease = { ...lease, state: 'active' };
      await writeLabels(active);
      saveTouched(config.paths.stateDir, active);
      return { lease: active, target: tgt, fresh: true };
    } catch (error) {
      log(`lease ${id}: create failed, removing what was made: ${(error as Error).message}`);
      if (tgt) await closeMaster(tgt);
      await provider.delete(providerId ?? id).catch(() => undefined);
      await removeLeaseKeys(keyDir).catch(() => undefined);
      throw error;
    }
  }

  function leaseFromMachineOrThrow(machine: Machine): DirectLease {
    const lease = leaseFromMachine(machine);
    if (!lease) throw new CrabboxError('provider_error', `machine ${machine.providerId} came back without valid lease labels`);
    return lease;
  }

  async function touch(ref: string | DirectLease, idleTimeoutSeconds?: number): Promise<DirectLease> {
    const lease = typeof ref === 'string' ? await resolve(ref) : ref;
    const result = touchLease(lease, clock.now(), idleTimeoutSeconds);
    if (!result.ok) {
      if (result.reason === 'bad_idle') throw new CrabboxError('bad_request', describeTimingProblem(result.problem, FLAG_NAMES));
      throw endedLeaseError(lease, clock.now());
    }
    await writeLabels(result.lease);
    saveTouched(config.paths.stateDir, result.lease);
    return result.lease;
  }

  /** The lease as last touched here, when that was recent: a warm run then asks the provider nothing (touched.ts). */
  async function recent(ref: string): Promise<DirectLease | undefined> {
    const entry = await findIndexed(config.paths.stateDir, parseLeaseRef(ref));
    if (!entry || entry.provider !== provider.name) return undefined;
    const lease = loadTouched(config.paths.stateDir, entry.id);
    return lease && lease.slug === entry.slug && lease.owner === owner && lease.provider === provider.name && touchedRecently(lease, clock.now()) ? lease : undefined;
  }

  async function release(ref: string | DirectLease): Promise<ReleaseResult> {
    let lease: DirectLease | undefined;
    if (typeof ref === 'string') {
      const parsed = parseLeaseRef(ref);
      lease = await find(parsed);
      if (!lease) {
        // An id we cannot find is a lease already released; a slug proves nothing unless we ended that lease ourselves.
        if (parsed.kind === 'slug') {
          const ended = await findTombstone(config.paths.stateDir, parsed, owner, clock.now());
          if (!ended) throw new CrabboxError('lease_not_found', `no lease ${parsed.value}`, { hint: 'run `crabbox list` to see your leases' });
          return { leaseId: ended.id, slug: ended.slug, result: 'already-gone' };
        }
        // Keys of a lease another provider made (an explicit, different --provider) are that lease's, not debris.
        const indexed = await readIndexEntry(config.paths.stateDir, parsed.value);
        if (indexed && indexed.provider !== provider.name) return { leaseId: parsed.value, slug: undefined, result: 'already-gone' };
        // The index proves this CLI made the lease: whatever the provider still has of it (an ssh host's key line
        // and claim whose labels file is gone, so it no longer reads as a lease) is released by its provider id.
        const result = indexed ? await provider.delete(indexed.providerId) : 'already-gone';
        await removeLeaseKeys(keyDirOf(parsed.value));
        return { leaseId: parsed.value, slug: indexed?.slug, result: result === 'deleted' ? 'released' : 'already-gone' };
      }
    } else {
      lease = ref;
    }
    await deleteLease(lease);
    return { leaseId: lease.id, slug: lease.slug, result: 'released' };
  }

  /** Ends the lease in its labels (so a crash midway leaves something cleanup deletes), then removes machine, master and keys. */
  async function deleteLease(lease: DirectLease): Promise<'deleted' | 'already-gone'> {
    const ended = endLease(lease, 'release', clock.now());
    if (ended) await writeLabels({ ...lease, ...ended }).catch(() => undefined);
    return discardLease({ provider, stateDir: config.paths.stateDir, now: clock.now() }, lease);
  }

  return leaseService({
    mode: 'direct',
    create,
    waitReady: (lease, deadline, o = {}) => waitBootstrapped(target(lease), provider.capabilities.readyCommand, deadline, { clock, ...o }),
    resolve,
    target,
    recent,
    touch,
    release,
    list: ownLeases,
  });
}

export { type DirectLease } from './record.ts';

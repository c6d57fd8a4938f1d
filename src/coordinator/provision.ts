import type { CreateLeaseBody } from '../api/schemas.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { LABEL, leaseLabels } from '../domain/labels.ts';
import { isLive } from '../domain/lease.ts';
import type { Machine, Provider } from '../providers/provider.ts';
import { pickSshCidrs } from '../net/cidr.ts';
import type { LeaseRecord, MachineDetails } from '../storage/store.ts';
import { audit } from './audit.ts';
import { scrub } from './redaction.ts';
import type { CoordinatorDeps } from './deps.ts';
import { generateHostKey } from './host-key.ts';
import { boxUserCa } from './ssh-ca.ts';
import { hostKeySigner } from './host-ca.ts';
import { CLAIM_MS, deleteMachine } from './machines/delete.ts';
import { settleMachineOf } from './machines/settle.ts';
import { closeTunnel, openTunnel, tunnelModeFor, tunnelTransport } from './tunnel.ts';
import type { MachineTunnel } from '../cloudflare/tunnels.ts';

/**
 * The cold path: the provider makes the machine a new lease was stored with (its record written `provisioning` first).
 * The provider id is stored the moment it is known; when the machine is up, the machine becomes `assigned` and the
 * lease `active` in one commit. A lease that ended meanwhile never gets the machine: it is deleted.
 */

/**
 * The SSH firewall's sources for a billable cloud box: the CLI's own detected address, else the request's source
 * address. Empty when neither is usable; the provider then applies its documented rule (an operator override or a refusal).
 */
export function allowedCidrs(provider: Provider, body: CreateLeaseBody, source: string | undefined): string[] | undefined {
  if (!provider.capabilities.billable || provider.capabilities.local) return undefined;
  try {
    const cidrs = pickSshCidrs({ detected: body.callerCidr, source });
    return cidrs.length > 0 ? cidrs : undefined;
  } catch {
    return undefined; // an unusable source address (validated callerCidr never lands here)
  }
}

function machineDetails(machine: Machine, hostKey: string, tunnel: { hostname: string; sshPort: number } | undefined): MachineDetails {
  return {
    providerId: machine.providerId, host: machine.host, ports: machine.ports, adminUser: machine.adminUser ?? machine.sshUser, workRoot: machine.workRoot,
    hostKey: machine.hostKey || hostKey, type: machine.type, region: machine.region,
    // Tunnel mode: the box is its tunnel host name on the one port the tunnel routes to; its address has no SSH port.
    ...(tunnel ? { host: tunnel.hostname, ports: [tunnel.sshPort], transport: tunnelTransport(tunnel) } : {}),
  };
}

export async function provision(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, body: CreateLeaseBody, actor: string, cidrs?: string[]): Promise<LeaseRecord> {
  const { store, clock, config } = deps;
  const machineId = lease.machineId!;
  const tunnelMode = tunnelModeFor(deps, provider);
  let tunnel: MachineTunnel | undefined;
  try {
    const hostKey = await (deps.hostKeys ?? generateHostKey)(lease.id);
    const labels = leaseLabels({ lease, installation: config.installation, machineId });
    const userCa = boxUserCa(deps, provider.name, lease.id);
    // Tunnel mode: the tunnel first (its token goes into the box's bootstrap); a crash between the two is the sweep's.
    if (tunnelMode) tunnel = await openTunnel(deps, tunnelMode, machineId, lease.owner);
    // A cold box lives no longer than its lease, which lives no longer than the installation's TTL cap.
    const signHostKey = hostKeySigner(deps, provider.name, machineId, hostKey.publicKey, config.lease.maxTtlSeconds);
    const machine = await provider.create(
      {
        leaseId: lease.id, slug: lease.slug, labels, sshPublicKey: body.sshPublicKey.trim(), hostKey, class: body.class, type: body.type,
        ...(cidrs && !tunnel ? { allowedCidrs: cidrs } : {}), ...(userCa ? { userCa } : {}), ...(tunnel ? { tunnel: { token: tunnel.token } } : {}),
        ...(signHostKey ? { signHostKey } : {}), ...(lease.sudo ? { leaseSudo: true } : {}),
      },
      {
        // Recorded first, so a release from now on deletes this machine. A provider may report a replacement id (a
        // machine that failed to start was deleted and another made); if the lease has ended by then, refusing it
        // makes the provider delete the replacement at once instead of leaving it to the orphan sweep.
        onProviderId: async (providerId) => {
          await store.setMachineProviderId(machineId, providerId);
          const current = await store.getLease(lease.id);
          if (current && !isLive(current.state)) throw endedDuringCreate(lease);
        },
      },
    );
    const details = machineDetails(machine, hostKey.publicKey, tunnel && tunnelMode ? { hostname: tunnel.hostname, sshPort: tunnelMode.sshPort } : undefined);
    const now = clock.now();
    const claimUntil = now + CLAIM_MS;
    // The machine's details, its assignment, the active lease and their events: one commit.
    const outcome = await store.withTransaction(async (tx) => {
      // Undefined when its lease ended while the provider worked and the machine is being deleted already.
      const ready = await tx.machineReady(machineId, details, now);
      if (!ready) return { active: undefined };
      const active = await tx.activateLease(lease.id, { sshUser: machine.sshUser, workRoot: machine.workRoot, type: machine.type });
      if (!active) {
        const ended = (await tx.getLease(lease.id)) ?? lease;
        await settleMachineOf(tx, ended, { now, actor, reason: 'lease-ended-during-create', createRunning: false, claimUntil });
        return { active: undefined };
      }
      await audit(tx, { type: 'machine.provisioned', at: now, actor, lease: active, machine: ready, data: { host: ready.host, type: ready.type } });
      if (ready.leaseId === active.id) await audit(tx, { type: 'machine.assigned', at: now, actor, lease: active, machine: ready, data: { assignments: ready.assignments } });
      return { active };
    });
    if (!outcome.active) {
      // Released (or expired) while the provider worked: the machine must not outlive its lease.
      const current = (await store.getLease(lease.id)) ?? lease;
      const record = await store.getMachine(machineId);
      const deleted = record ? await deleteMachine(deps, record, actor, { claimedUntil: claimUntil, lease: current }) : 'not-claimed';
      // The release's own delete may have run while the create was still in flight, before the provider had made
      // everything; the create has returned now, so what it returned is deleted once more (deletes are idempotent).
      if (deleted === 'not-claimed' || deleted === 'failed') await deleteAfterCreate(deps, provider, current, machineId, machine.providerId, actor);
      throw endedDuringCreate(lease);
    }
    return outcome.active;
  } catch (error) {
    if (isCrabboxError(error) && error.code === 'lease_not_active') {
      await settleAbandoned(deps, lease, actor);
      throw error;
    }
    await failCreate(deps, provider, lease, error, actor);
    // The machine's delete closes its tunnel too; this covers a create that failed before the machine had an id.
    if (tunnel) await closeTunnel(deps, { id: machineId, provider: provider.name }).catch((e: unknown) => deps.logger?.warn('tunnel cleanup after a failed create did not finish; the orphan sweep retries', { machineId, error: scrub(deps.config, String(e)).slice(0, 200) }));
    throw isCrabboxError(error) && error.status < 500 && error.code !== 'internal'
      ? error
      : new CrabboxError('provider_error', `provider ${provider.name} could not create the machine: ${scrub(deps.config, error instanceof Error ? error.message : String(error)).slice(0, 200)}`, { hint: 'nothing was left running; try again' });
  }
}

const endedDuringCreate = (lease: LeaseRecord): CrabboxError => new CrabboxError('lease_not_active', `lease ${lease.id} ended while it was being provisioned`);

/**
 * The create stopped because its lease ended (the provider was refused an id and deleted that machine itself): the
 * machine record, still waiting for the create, is settled now instead of by the stuck-machine sweep.
 */
async function settleAbandoned(deps: CoordinatorDeps, lease: LeaseRecord, actor: string): Promise<void> {
  const { store, clock } = deps;
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const current = (await store.getLease(lease.id)) ?? lease;
  if (isLive(current.state)) return;
  const machine = await store.withTransaction((tx) => settleMachineOf(tx, current, { now, actor, reason: 'lease-ended-during-create', createRunning: false, claimUntil }));
  if (machine?.state === 'deleting') await deleteMachine(deps, machine, actor, { claimedUntil: claimUntil, lease: current });
}

/** Deletes a machine a create returned for a lease that ended meanwhile; a failure is left to the orphan sweep (its labels name the ended lease). */
async function deleteAfterCreate(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, machineId: string, providerId: string, actor: string): Promise<void> {
  const { store, clock } = deps;
  const machine = { id: machineId, providerId, leaseId: lease.id };
  try {
    const result = await provider.delete(providerId);
    await audit(store, { type: 'machine.deleted', at: clock.now(), actor, lease, machine, data: { result, reason: 'ended-during-create' } });
  } catch (error) {
    const message = scrub(deps.config, error instanceof Error ? error.message : String(error)).slice(0, 300);
    await audit(store, { type: 'provider.error', at: clock.now(), actor, lease, machine, data: { op: 'delete', error: message, reason: 'ended-during-create' } });
    deps.logger?.warn('delete after a create that outlived its lease failed; the orphan sweep retries', { leaseId: lease.id, machineId, error: message });
  }
}

/** After a failed create: the lease fails, what the provider made is deleted, and the provider is swept for strays of this lease. */
async function failCreate(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, error: unknown, actor: string): Promise<void> {
  const { store, clock } = deps;
  const message = scrub(deps.config, error instanceof Error ? error.message : String(error)).slice(0, 300);
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const machine = await store.withTransaction(async (tx) => {
    await audit(tx, { type: 'provider.error', at: now, actor, lease, data: { op: 'create', error: message } });
    const failed = await tx.transitionLease(lease.id, ['provisioning'], 'failed', { now, reason: 'provider-error' });
    if (failed) await audit(tx, { type: 'lease.failed', at: now, actor, lease: failed, data: { reason: 'provider-error' } });
    return settleMachineOf(tx, failed ?? (await tx.getLease(lease.id)) ?? lease, { now, actor, reason: 'create-failed', createRunning: false, claimUntil });
  });
  if (machine?.state === 'deleting') await deleteMachine(deps, machine, actor, { claimedUntil: claimUntil, lease });
  if (!provider.capabilities.labels) return;
  try {
    // A machine the provider made but never reported an id for is found by its lease label.
    for (const stray of await provider.list({ [LABEL.lease]: lease.id })) {
      if (machine?.providerId === stray.providerId && (machine.state === 'deleting' || machine.state === 'deleted')) continue;
      const result = await provider.delete(stray.providerId);
      await audit(store, { type: 'machine.deleted', at: clock.now(), actor, lease, machine: machine && { ...machine, providerId: stray.providerId }, providerId: stray.providerId, data: { result, reason: 'failed-create' } });
    }
  } catch (listError) {
    // The orphan sweep finds it later by the same labels.
    deps.logger?.warn('stray sweep after failed create did not finish', { leaseId: lease.id, error: scrub(deps.config, String(listError)).slice(0, 200) });
  }
}

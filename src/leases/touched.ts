import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { readSmall } from '../fs/small-read.ts';
import { isLeaseId, isSlug, type LeaseRef } from '../domain/ids.ts';
import { LEASE_STATES } from '../domain/lease.ts';
import { leaseKeyDir } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';

/**
 * The lease as this computer last touched it: `<stateDir>/leases/<id>/touched.json` (0600), beside its keys, and
 * removed with them (decision 0063). A warm run starts connecting with it instead of asking first:
 * - direct mode, when the last touch is recent: every touch of the lease comes from this computer (its private key
 *   lives only here), so the file is as new as the provider's labels; the box accepting the lease's own key proves
 *   the lease was not released (release deletes the machine or the key), and the recorded expiry that it has not
 *   expired. Nothing is asked.
 * - brokered mode, always: the coordinator's heartbeat answers while ssh connects, and the command waits for it.
 */
const FILE = 'touched.json';
const FORMAT = 'crabbox-touched/1';

/** A run touches a lease again once its last touch is older than this: a tenth of the idle timeout. */
export function retouchAfterMs(idleTimeoutSeconds: number): number {
  return Math.floor((idleTimeoutSeconds * 1000) / 10);
}

/** Records a touched (or new) lease. A hint only: written atomically without fsync, and a failure is ignored. */
export function saveTouched(stateDir: string, lease: DirectLease): void {
  try {
    writeFileAtomic(join(leaseKeyDir(stateDir, lease.id), FILE), `${JSON.stringify({ format: FORMAT, lease })}\n`, { durable: false });
  } catch {
    // Without the file the next run asks the provider, as before.
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 4096;

/** The fields a run relies on before anything is confirmed; anything else makes the file absent. */
function valid(value: unknown, id: string): value is DirectLease {
  const l = value as Partial<DirectLease> | null;
  const m = l?.machine;
  return (
    typeof l === 'object' && l !== null && l.id === id && typeof l.slug === 'string' && isSlug(l.slug)
    && isText(l.owner) && isText(l.provider) && typeof l.state === 'string' && (LEASE_STATES as readonly string[]).includes(l.state)
    && typeof l.keep === 'boolean' && [l.ttlSeconds, l.idleTimeoutSeconds, l.createdAt, l.lastTouchedAt, l.expiresAt].every(isNumber)
    && typeof m === 'object' && m !== null && typeof m.providerId === 'string' && isText(m.host) && isText(m.sshUser) && isText(m.workRoot)
    && Array.isArray(m.ports) && m.ports.length > 0 && m.ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)
  );
}

/** The lease as last touched here; undefined when absent, unreadable or not in this format. */
export function loadTouched(stateDir: string, id: string): DirectLease | undefined {
  if (!isLeaseId(id)) return undefined;
  const text = readSmall(join(leaseKeyDir(stateDir, id), FILE));
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { format?: unknown; lease?: unknown };
    return parsed.format === FORMAT && valid(parsed.lease, id) ? parsed.lease : undefined;
  } catch {
    return undefined;
  }
}

/** The lease a ref names as last touched here: an id directly, a slug by the newest live lease carrying it. */
export function findTouched(stateDir: string, ref: LeaseRef): DirectLease | undefined {
  if (ref.kind === 'id') return loadTouched(stateDir, ref.value);
  let names: string[];
  try {
    names = readdirSync(join(stateDir, 'leases')).filter(isLeaseId);
  } catch {
    return undefined;
  }
  return names.map((id) => loadTouched(stateDir, id)).filter((l): l is DirectLease => l?.slug === ref.value && l.state === 'active').sort((a, b) => b.createdAt - a.createdAt)[0];
}

/** Active when last touched here, and its expiry as then recorded has not passed. */
export function liveAsLastSeen(lease: DirectLease | undefined, now: number): lease is DirectLease {
  return lease !== undefined && lease.state === 'active' && now < lease.expiresAt;
}

/** True when a run may use the lease without touching it: live as last seen, and touched within the last tenth of its idle timeout. */
export function touchedRecently(lease: DirectLease, now: number): boolean {
  const age = now - lease.lastTouchedAt;
  return liveAsLastSeen(lease, now) && age >= 0 && age < retouchAfterMs(lease.idleTimeoutSeconds);
}

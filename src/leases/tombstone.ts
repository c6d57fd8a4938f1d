import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { isLeaseId, isSlug, type LeaseRef } from '../domain/ids.ts';
import { isLive, LEASE_STATES, type LeaseState } from '../domain/lease.ts';
import { endLease } from '../domain/lifecycle.ts';
import type { DirectLease } from './record.ts';

/**
 * Direct mode keeps a small record of every lease it ended (`<state>/tombstones/<id>.json`, 0600) for a week, so a
 * later command on it says what happened (`lease X expired at T`, exit 75) instead of `no lease X` (66). The machine,
 * keys and index entry are gone; the tombstone holds only the lease's own fields, no host, key or command.
 * The coordinator needs none: it keeps ended lease records until its retention prunes them.
 */
export const TOMBSTONE_MS = 7 * 86_400_000;

const DIR = 'tombstones';
const FIELDS = ['id', 'slug', 'owner', 'org', 'provider', 'class', 'state', 'keep', 'ttlSeconds', 'idleTimeoutSeconds', 'createdAt', 'lastTouchedAt', 'expiresAt', 'endedAt'] as const;

/** How a discarded lease ended: a terminal state as it was; a live one as the lifecycle's release rule says (lifecycle.ts). */
export function endOf(lease: DirectLease, now: number): { state: LeaseState; expiresAt: number; endedAt: number } {
  return endLease(lease, 'release', now) ?? { state: lease.state, expiresAt: lease.expiresAt, endedAt: lease.endedAt ?? now };
}

/** Records how the lease ended. Never fails the removal it follows. */
export async function writeTombstone(stateDir: string, lease: DirectLease, now: number): Promise<void> {
  if (!isLeaseId(lease.id)) return;
  try {
    const dir = join(stateDir, DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ended = { ...lease, ...endOf(lease, now) };
    const record = Object.fromEntries(FIELDS.map((f) => [f, ended[f]]).filter(([, v]) => v !== undefined));
    writeFileAtomic(join(dir, `${lease.id}.json`), `${JSON.stringify(record)}\n`);
  } catch {
    // A missing tombstone only costs a vaguer message later.
  }
}

function parse(text: string): DirectLease | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const num = (k: string) => typeof v[k] === 'number' && Number.isFinite(v[k]);
  if (typeof v.id !== 'string' || !isLeaseId(v.id) || typeof v.slug !== 'string' || !isSlug(v.slug)) return undefined;
  if (typeof v.state !== 'string' || !(LEASE_STATES as readonly string[]).includes(v.state) || isLive(v.state as LeaseState)) return undefined;
  if (!['ttlSeconds', 'idleTimeoutSeconds', 'createdAt', 'lastTouchedAt', 'expiresAt', 'endedAt'].every(num)) return undefined;
  if (typeof v.owner !== 'string' || typeof v.org !== 'string' || typeof v.provider !== 'string') return undefined;
  return {
    id: v.id, slug: v.slug, owner: v.owner, org: v.org, provider: v.provider, ...(typeof v.class === 'string' ? { class: v.class } : {}),
    state: v.state as LeaseState, keep: v.keep === true, ttlSeconds: v.ttlSeconds as number, idleTimeoutSeconds: v.idleTimeoutSeconds as number,
    createdAt: v.createdAt as number, lastTouchedAt: v.lastTouchedAt as number, expiresAt: v.expiresAt as number, endedAt: v.endedAt as number,
    installation: 'cli', machineStatus: 'deleting',
  };
}

async function all(stateDir: string): Promise<DirectLease[]> {
  const names = await readdir(join(stateDir, DIR)).catch(() => [] as string[]);
  const read = await Promise.all(names.filter((n) => /^cbx_[0-9a-f]{12}\.json$/.test(n)).map((n) => readFile(join(stateDir, DIR, n), 'utf8').then(parse, () => undefined)));
  return read.filter((l): l is DirectLease => l !== undefined);
}

/** The ended lease a ref names (an id, or a slug by its most recently ended lease) for `owner`, within the week. */
export async function findTombstone(stateDir: string, ref: LeaseRef, owner: string, now: number): Promise<DirectLease | undefined> {
  const fresh = (l: DirectLease | undefined) => (l && l.owner === owner && now - (l.endedAt ?? 0) < TOMBSTONE_MS ? l : undefined);
  if (ref.kind === 'id') return fresh(parse(await readFile(join(stateDir, DIR, `${ref.value}.json`), 'utf8').catch(() => '')));
  return (await all(stateDir)).filter((l) => l.slug === ref.value && fresh(l)).sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))[0];
}

/** Removes tombstones older than a week (and unreadable ones). */
export async function pruneTombstones(stateDir: string, now: number): Promise<void> {
  const dir = join(stateDir, DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const lease = parse(await readFile(join(dir, name), 'utf8').catch(() => ''));
    if (!lease || now - (lease.endedAt ?? 0) >= TOMBSTONE_MS) await rm(join(dir, name), { force: true }).catch(() => undefined);
  }
}

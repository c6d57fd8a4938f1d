import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { CrabboxError } from '../domain/errors.ts';
import { isLeaseId, isSlug, type LeaseRef } from '../domain/ids.ts';
import { leaseKeyDir } from '../ssh/index.ts';
import { readSmall } from '../fs/small-read.ts';

/**
 * The per-user lease index: `<stateDir>/leases/<id>/lease.json` beside the lease's keys, so a ref resolves in the
 * provider that made it without repeating `--provider`. It lives and dies with the key directory (release and
 * cleanup remove the whole directory).
 */
export interface IndexEntry {
  id: string;
  /** Provider name (local, ssh, hetzner, aws). */
  provider: string;
  slug: string;
  /** The provider's own id for the machine: one `provider.get` finds it. */
  providerId: string;
  createdAt: number;
}

const FILE = 'lease.json';
const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function valid(value: unknown): value is IndexEntry {
  const e = value as Partial<IndexEntry> | null;
  return (
    typeof e === 'object' && e !== null &&
    typeof e.id === 'string' && isLeaseId(e.id) &&
    typeof e.provider === 'string' && PROVIDER_NAME.test(e.provider) &&
    typeof e.slug === 'string' && isSlug(e.slug) &&
    typeof e.providerId === 'string' && PROVIDER_ID.test(e.providerId) &&
    typeof e.createdAt === 'number' && Number.isFinite(e.createdAt)
  );
}

/** Records a lease in the index (atomic, 0600); refuses a malformed entry rather than writing it. */
export async function writeIndexEntry(stateDir: string, entry: IndexEntry): Promise<void> {
  if (!valid(entry)) throw new CrabboxError('internal', `refusing a malformed lease index entry for ${JSON.stringify(String((entry as { id?: unknown }).id).slice(0, 40))}`);
  const dir = leaseKeyDir(stateDir, entry.id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { id, provider, slug, providerId, createdAt } = entry;
  writeFileAtomic(join(dir, FILE), `${JSON.stringify({ id, provider, slug, providerId, createdAt })}\n`);
}

/** The index entry of one lease id; undefined when absent, unreadable or malformed (the index is only a hint). */
export async function readIndexEntry(stateDir: string, id: string): Promise<IndexEntry | undefined> {
  if (!isLeaseId(id)) return undefined;
  const text = readSmall(join(leaseKeyDir(stateDir, id), FILE));
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return valid(parsed) && parsed.id === id ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Every valid index entry, newest first. The folder is read at once, like its entries (src/fs/small-read.ts). */
export async function listIndex(stateDir: string): Promise<IndexEntry[]> {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, 'leases'));
  } catch {
    names = [];
  }
  const entries = await Promise.all(names.filter(isLeaseId).map((name) => readIndexEntry(stateDir, name)));
  return entries.filter((e): e is IndexEntry => e !== undefined).sort((a, b) => b.createdAt - a.createdAt);
}

/** The index entry a ref names: an id directly, a slug by the newest entry carrying it. */
export async function findIndexed(stateDir: string, ref: LeaseRef): Promise<IndexEntry | undefined> {
  if (ref.kind === 'id') return readIndexEntry(stateDir, ref.value);
  return (await listIndex(stateDir)).find((e) => e.slug === ref.value);
}

import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoordinatorClient } from '../api/client.ts';
import type { Clock } from '../domain/clock.ts';
import { isLeaseId } from '../domain/ids.ts';
import { STALE_WINDOW_SECONDS } from '../domain/lifecycle.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { removeLeaseKeys } from '../ssh/index.ts';
import { SWEEP_INTERVAL_MS } from './sweep.ts';
import { liveAsLastSeen, loadTouched } from './touched.ts';

/**
 * Brokered mode keeps only the per-lease private keys on this machine (`<state>/leases/`). A CLI killed during a
 * create leaves `pending-<hex>/`; one killed after it leaves `cbx_<id>/` that nothing releases. This sweep removes
 * key directories whose lease the coordinator says is gone (or never had), and pending ones older than the create
 * timeout. Keys of live leases stay.
 */

/** How long a brokered create may take on the coordinator (it provisions the machine before answering). */
export const BROKERED_CREATE_TIMEOUT_MS = 15 * 60_000;
/** The file in a brokered key directory that names the coordinator the lease belongs to. */
export const BROKERED_MARKER = 'coordinator.json';

const PENDING = /^pending-[0-9a-f]{12}$/;
/** The direct-mode lease index file (src/leases/lease-index.ts): its directory is not brokered. */
const INDEX_FILE = 'lease.json';

/** Marks a key directory as this coordinator's (written before the create is sent, so it moves with the rename). */
export async function markBrokered(dir: string, url: string): Promise<void> {
  await writeFile(join(dir, BROKERED_MARKER), `${JSON.stringify({ url })}\n`, { mode: 0o600 });
}

/** The coordinator URL a brokered key directory was made for; undefined when unmarked or unreadable. */
export async function markedFor(dir: string): Promise<string | undefined> {
  try {
    const url = (JSON.parse(await readFile(join(dir, BROKERED_MARKER), 'utf8')) as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

export interface BrokeredKeySweepOptions {
  client: Pick<CoordinatorClient, 'url' | 'call'>;
  stateDir: string;
  clock: Clock;
  createTimeoutMs?: number | undefined;
  dryRun?: boolean | undefined;
  /**
   * Leaves alone, without asking, a lease whose last answer here (touched.json) was active and whose expiry has not
   * passed: its keys can wait until then. The once-a-minute sweep before a command sets it; `cleanup` asks about all.
   */
  trustTouched?: boolean | undefined;
  log?: ((line: string) => void) | undefined;
}

/** What the sweep removed (or would remove with dryRun): lease ids and `pending-<hex>` names. */
export interface BrokeredKeySweep {
  removed: string[];
  /** Directories of live leases, left alone. */
  live: string[];
}

/**
 * One sweep. The directory is read before the coordinator is asked, so a lease created by another process in the
 * meantime is already on the coordinator when its key directory is seen (its key moves in only after the create).
 * Directories of another coordinator, and direct-mode ones (with a lease index entry), are never touched; an
 * unmarked directory (from a CLI before the marker existed) counts once it is older than the stale window.
 */
export async function sweepBrokeredKeys(options: BrokeredKeySweepOptions): Promise<BrokeredKeySweep> {
  const root = join(options.stateDir, 'leases');
  const now = options.clock.now();
  const result: BrokeredKeySweep = { removed: [], live: [] };
  const names = await readdir(root).catch(() => [] as string[]);
  const stale: string[] = [];
  const candidates: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    const age = now - info.mtimeMs;
    if (PENDING.test(name)) {
      if (age > (options.createTimeoutMs ?? BROKERED_CREATE_TIMEOUT_MS) + 60_000) stale.push(name);
      continue;
    }
    if (!isLeaseId(name)) continue;
    const marked = await markedFor(dir);
    if (marked !== undefined) {
      if (marked !== options.client.url) continue;
      if (options.trustTouched && liveAsLastSeen(loadTouched(options.stateDir, name), now)) result.live.push(name);
      else candidates.push(name);
      continue;
    }
    const indexed = await stat(join(dir, INDEX_FILE)).then(() => true, () => false);
    if (!indexed && age > STALE_WINDOW_SECONDS * 1000) candidates.push(name);
  }
  if (candidates.length > 0) {
    const live = await liveLeaseIds(options.client);
    for (const id of candidates) (live.has(id) ? result.live : stale).push(id);
  }
  for (const name of stale) {
    result.removed.push(name);
    if (options.dryRun) continue;
    options.log?.(`sweep: removing the keys of ${name}: ${name.startsWith('pending-') ? 'a create that never finished' : 'its lease is gone'}`);
    await removeLeaseKeys(join(root, name));
  }
  return result;
}

/** The ids of the caller's live leases on the coordinator (paged, bounded). */
async function liveLeaseIds(client: Pick<CoordinatorClient, 'call'>): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    // Bounded: the opportunistic sweep runs before the user's command and must not hold it up on a slow coordinator.
    const answer = await client.call('listLeases', { query: { state: 'live', limit: 500, cursor } }, { timeoutMs: 10_000 });
    for (const lease of answer.leases) ids.add(lease.id);
    cursor = answer.nextCursor;
    if (!cursor) return ids;
  }
  // More live leases than we paged through: nothing can be proven gone.
  throw new Error('too many live leases to check');
}

/**
 * The opportunistic sweep every brokered lease command runs, at most once a minute (stamp file
 * `<state>/brokered-sweep.stamp`). Never fails the command; asks the coordinator only when there is something to check.
 */
export async function brokeredKeySweepIfDue(options: Omit<BrokeredKeySweepOptions, 'dryRun'>): Promise<BrokeredKeySweep | undefined> {
  const stamp = join(options.stateDir, 'brokered-sweep.stamp');
  const now = options.clock.now();
  const last = Number((await readFile(stamp, 'utf8').catch(() => '')).trim());
  if (Number.isFinite(last) && last > 0 && now - last < SWEEP_INTERVAL_MS && now >= last) return undefined;
  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(stamp, `${now}\n`);
    return await sweepBrokeredKeys({ ...options, trustTouched: true });
  } catch (error) {
    options.log?.(`brokered key sweep skipped: ${(error as Error).message}`);
    return undefined;
  }
}

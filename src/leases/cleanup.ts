import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../domain/clock.ts';
import type { DanglingObject, Provider } from '../providers/provider.ts';
import { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { isLeaseId } from '../domain/ids.ts';
import { LABEL, labelValue } from '../domain/labels.ts';
import { cleanupVerdict, STALE_WINDOW_SECONDS } from '../domain/lifecycle.ts';
import { removeLeaseKeys, leaseKeyDir } from '../ssh/index.ts';
import { leaseFromMachine } from './record.ts';
import { discardLease } from './remove.ts';
import { readIndexEntry } from './lease-index.ts';
import { pruneTombstones } from './tombstone.ts';
import { DIRECT_INSTALLATION } from './direct.ts';

export interface CleanupOptions {
  provider: Provider;
  clock: Clock;
  stateDir: string;
  owner: string;
  dryRun?: boolean | undefined;
  /** Set when a coordinator is configured: it owns cleanup, so direct cleanup refuses. */
  coordinator?: unknown;
  log?: ((line: string) => void) | undefined;
  /** Also delete per-lease provider objects whose machine is gone (providers with `danglingObjects`; not in dry runs). */
  dangling?: boolean | undefined;
}

export interface CleanupEntry {
  id: string;
  slug: string;
  state: string;
  reason: string;
}

/** What cleanup did (or would do, with dryRun). Stable `--json` shape. */
export interface CleanupReport {
  dryRun: boolean;
  deleted: CleanupEntry[];
  skipped: CleanupEntry[];
  /** Leases whose delete failed (`reason` is the error); the others were still cleaned. Retried by the next cleanup. */
  failed: CleanupEntry[];
  /** Key directories with no machine left (a crash between key creation and provider create). */
  orphanKeys: string[];
  /** Provider objects (keys, firewalls, key pairs) whose machine was gone: deleted, or kept with a reason. */
  dangling: { deleted: DanglingObject[]; skipped: DanglingObject[] };
}

/**
 * Deletes the owner's expired machines by the domain's cleanup rules (kept machines wait for their TTL cap,
 * provisioning ones get an extra stale window) and removes orphaned key directories.
 */
export async function cleanupExpired(options: CleanupOptions): Promise<CleanupReport> {
  if (options.coordinator) {
    throw new CrabboxError('bad_request', 'cleanup is done by the coordinator when one is configured; direct cleanup refuses to run', { hint: 'ask an admin, or remove the coordinator from your config' });
  }
  const now = options.clock.now();
  const owner = labelValue(options.owner);
  const report: CleanupReport = { dryRun: options.dryRun === true, deleted: [], skipped: [], failed: [], orphanKeys: [], dangling: { deleted: [], skipped: [] } };
  const machines = await options.provider.list({ [LABEL.marker]: 'true' });
  const known = new Set<string>();
  for (const machine of machines) {
    const lease = leaseFromMachine(machine);
    if (!lease || lease.owner !== owner) continue; // never touch what we cannot prove is ours
    known.add(lease.id);
    const verdict = cleanupVerdict(lease, now);
    const entry = { id: lease.id, slug: lease.slug, state: lease.state, reason: verdict.reason };
    if (verdict.action === 'skip') {
      report.skipped.push(entry);
      continue;
    }
    if (report.dryRun) {
      report.deleted.push(entry);
      continue;
    }
    options.log?.(`cleanup: deleting ${lease.id} (${verdict.reason})`);
    try {
      await discardLease({ provider: options.provider, stateDir: options.stateDir, now }, lease);
      report.deleted.push(entry);
    } catch (error) {
      // One lease that cannot be deleted now must not keep every later expired lease alive past its TTL.
      const reason = redact(error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
      options.log?.(`cleanup: could not delete ${lease.id}: ${reason}`);
      report.failed.push({ ...entry, reason });
    }
  }
  for (const id of await staleKeyDirs(options.stateDir, known, now, options.provider.name)) {
    report.orphanKeys.push(id);
    if (!report.dryRun) await removeLeaseKeys(leaseKeyDir(options.stateDir, id));
  }
  if (!report.dryRun) await pruneTombstones(options.stateDir, now);
  const { provider } = options;
  if (options.dangling && !report.dryRun && provider.capabilities.danglingObjects && provider.sweepDangling) {
    report.dangling = await provider.sweepDangling({ installation: DIRECT_INSTALLATION });
    for (const d of report.dangling.deleted) options.log?.(`cleanup: deleted ${d.kind} ${d.name} (${d.reason})`);
  }
  return report;
}

/** Key dirs without a machine, older than the stale window (a create may still be in flight in another process). */
async function staleKeyDirs(stateDir: string, known: Set<string>, now: number, providerName: string): Promise<string[]> {
  const dir = join(stateDir, 'leases');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const name of names) {
    if (!isLeaseId(name) || known.has(name)) continue;
    // Another provider's lease: pruneIndex asks that provider, this one cannot know.
    const indexed = await readIndexEntry(stateDir, name);
    if (indexed && indexed.provider !== providerName) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_WINDOW_SECONDS * 1000) out.push(name);
  }
  return out;
}

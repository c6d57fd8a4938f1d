import type { Provider } from '../providers/provider.ts';
import { leaseKeyDir, removeLeaseKeys } from '../ssh/index.ts';
import { listIndex } from './lease-index.ts';
import { liveAsLastSeen, loadTouched } from './touched.ts';

export interface PruneIndexOptions {
  stateDir: string;
  /** Builds the provider an entry names (only names that appear in the index are ever built). */
  providerFor: (name: string) => Promise<Provider>;
  /** A provider whose entries the caller's own cleanup already covers. */
  skip?: string | undefined;
  dryRun?: boolean | undefined;
  /**
   * Skips, without asking, a lease last touched here as active whose expiry (as then recorded) has not passed: the
   * sweep before a command sets it (a warm loop asks no provider); `cleanup` asks about every entry.
   */
  trustTouched?: { now: number } | undefined;
  log?: ((line: string) => void) | undefined;
}

/**
 * Removes index entries (with their key directories) whose machine is gone from the provider that made it: the
 * crash-safety half of the lease index. A provider that cannot be asked is left alone; never a hard error.
 */
export async function pruneIndex(options: PruneIndexOptions): Promise<string[]> {
  const removed: string[] = [];
  const trust = options.trustTouched;
  const trusted = (id: string): boolean => trust !== undefined && liveAsLastSeen(loadTouched(options.stateDir, id), trust.now);
  const entries = (await listIndex(options.stateDir)).filter((e) => e.provider !== options.skip && !trusted(e.id));
  const providers = new Map<string, Promise<Provider | undefined>>();
  for (const entry of entries) {
    let provider = providers.get(entry.provider);
    if (!provider) providers.set(entry.provider, (provider = options.providerFor(entry.provider).catch(() => undefined)));
    const p = await provider;
    if (!p) continue;
    try {
      if (await p.get(entry.providerId)) continue;
      removed.push(entry.id);
      if (!options.dryRun) {
        options.log?.(`cleanup: machine of ${entry.id} (${entry.provider}) is gone; removing its index entry and keys`);
        await removeLeaseKeys(leaseKeyDir(options.stateDir, entry.id));
      }
    } catch (error) {
      options.log?.(`cleanup: could not check ${entry.id} on ${entry.provider}: ${(error as Error).message}`);
    }
  }
  return removed;
}

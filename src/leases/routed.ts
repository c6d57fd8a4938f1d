import { parseLeaseRef } from '../domain/ids.ts';
import { findIndexed, listIndex } from './lease-index.ts';
import type { DirectLease } from './record.ts';
import { leaseService, type LeaseService } from './service.ts';

export interface RoutedLeaseOptions {
  /** The service for the configured provider (creates go here; unindexed refs fall back to it). */
  configured: LeaseService;
  configuredProvider: string;
  stateDir: string;
  /** The direct service for another provider named in the index (built on demand, once per name). */
  serviceFor: (provider: string) => Promise<LeaseService>;
  log?: ((line: string) => void) | undefined;
}

/**
 * Direct mode across providers: a ref found in the lease index is served by the provider that made it, anything
 * else by the configured one. `list` adds only providers that appear in the index, never every cloud account.
 */
export function routedLeaseService(options: RoutedLeaseOptions): LeaseService {
  const { configured, configuredProvider, stateDir } = options;
  const built = new Map<string, Promise<LeaseService>>();
  const serviceOf = (name: string): Promise<LeaseService> => {
    if (name === configuredProvider) return Promise.resolve(configured);
    let service = built.get(name);
    if (!service) built.set(name, (service = options.serviceFor(name)));
    return service;
  };
  const forRef = async (ref: string): Promise<LeaseService> => {
    const entry = await findIndexed(stateDir, parseLeaseRef(ref));
    return entry ? serviceOf(entry.provider) : configured;
  };
  const forLease = (lease: DirectLease): Promise<LeaseService> => serviceOf(lease.provider);

  return leaseService({
    mode: 'direct',
    create: (request) => configured.create(request),
    waitReady: async (lease, deadline, o) => (await forLease(lease)).waitReady(lease, deadline, o),
    resolve: async (ref) => (await forRef(ref)).resolve(ref),
    // The ssh target depends only on the state dir and ssh settings, which every provider's service shares.
    target: (lease) => configured.target(lease),
    // The index names the lease's provider and id: that service then reads one entry, not the whole index again.
    recent: async (ref) => {
      const entry = await findIndexed(stateDir, parseLeaseRef(ref));
      return entry ? (await serviceOf(entry.provider)).recent?.(entry.id) : configured.recent?.(ref);
    },
    touch: async (ref, idle) => (typeof ref === 'string' ? (await forRef(ref)).touch(ref, idle) : (await forLease(ref)).touch(ref, idle)),
    release: async (ref) => (typeof ref === 'string' ? (await forRef(ref)).release(ref) : (await forLease(ref)).release(ref)),
    list: async () => {
      const others = [...new Set((await listIndex(stateDir)).map((e) => e.provider))].filter((name) => name !== configuredProvider);
      const lists = await Promise.all([
        configured.list(),
        ...others.map(async (name) => {
          try {
            return await (await serviceOf(name)).list();
          } catch (error) {
            options.log?.(`list: provider ${name} failed: ${(error as Error).message}`);
            return [];
          }
        }),
      ]);
      return lists.flat().sort((a, b) => b.createdAt - a.createdAt);
    },
  });
}

import * as z from 'zod';

/**
 * Input fields shared by several use cases, described for a model reading a tool's schema. Values are checked again
 * where they are used (lease refs by parseLeaseRef, durations by the config loader), so a bad one is one clear line.
 */
export const leaseRef = z.string().min(1).max(80).describe('A lease id (cbx_ + 12 hex) or its slug (like blue-lobster), as warmup or list returned it');
export const runRef = z.string().min(1).max(80).describe('A run id (run_ + 12 hex), as run or history returned it');
export const providerName = z.string().max(20).optional().describe('The provider: local, ssh, hetzner or aws; default: the configured one');
const duration = z.string().min(1).max(20);

/** What a fresh lease may ask for; anything unset comes from the user's config. */
export const leaseSettings = {
  provider: providerName,
  ttl: duration.optional().describe('Hard lifetime cap of the lease, 1m to 24h (default from config, usually 90m)'),
  idleTimeout: duration.optional().describe('Released after this long without use, 1m up to the TTL (default from config, usually 30m)'),
  keep: z.boolean().optional().describe('Cleanup skips it until its TTL cap, even when idle'),
  class: z.string().max(32).optional().describe('Machine class (provider-specific size names); default from config'),
  type: z.string().max(64).optional().describe('An explicit machine type; default from config'),
  pool: z.union([z.boolean(), z.string().max(32)]).optional()
    .describe('Take an idle machine from the coordinator\'s warm pool (true: the pool of this provider and class; or a pool\'s name): a box in well under a second. Needs a coordinator'),
};

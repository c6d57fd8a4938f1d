import { CrabboxError } from './errors.ts';
import { isLive, type Lease } from './lease.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The one answer, in both modes, when a command needs a live lease and this one is past its deadline or ended:
 * `lease <id> (<slug>) expired at <T>` (lease_expired, exit 75), where T is the deadline it expired at, or
 * `... was released at <T>` / `... failed` (lease_not_active, exit 75).
 */
export function endedLeaseError(lease: Pick<Lease, 'id' | 'slug' | 'state' | 'expiresAt' | 'endedAt'>, now: number): CrabboxError {
  const name = `lease ${lease.id} (${lease.slug})`;
  const fresh = 'lease a new box (`crabbox warmup`, or `crabbox run` without --id)';
  if (lease.state === 'expired' || (isLive(lease.state) && now >= lease.expiresAt)) {
    return new CrabboxError('lease_expired', `${name} expired at ${iso(lease.expiresAt)}`, { hint: isLive(lease.state) ? `release it with \`crabbox stop ${lease.id}\` and ${fresh}` : fresh });
  }
  if (lease.state === 'released') return new CrabboxError('lease_not_active', `${name} was released at ${iso(lease.endedAt ?? now)}`, { hint: fresh });
  return new CrabboxError('lease_not_active', `${name} is ${lease.state}`, { hint: fresh });
}

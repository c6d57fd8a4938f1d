import { DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { CrabboxError } from '../../domain/errors.ts';
import { LEASE_ID_PATTERN } from '../../domain/ids.ts';
import { classifyEc2Error, toCrabboxError } from './errors.ts';
import { withPropagation, withRetry, type RetryPolicy } from './retry.ts';

const KEY_NAME_PATTERN = /^crabbox-(cbx_[0-9a-f]{12})$/;

/** The EC2 key pair name for a lease: `crabbox-cbx_…`. */
export function keyPairName(leaseId: string): string {
  if (!LEASE_ID_PATTERN.test(leaseId)) throw new CrabboxError('invalid_input', `not a lease id: ${JSON.stringify(leaseId.slice(0, 40))}`);
  return `crabbox-${leaseId}`;
}

/** True only for names this provider creates; nothing else is ever deleted. */
export function isOurKeyPairName(name: string | undefined): boolean {
  return name !== undefined && KEY_NAME_PATTERN.test(name);
}

/** `type base64` of an OpenSSH public key, without the comment. */
function keyBody(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}

export interface KeyPairDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
}

/**
 * Imports the lease's public key as a key pair and says when it was made (RunInstances may not see it for a while).
 * A key pair of the same name is accepted only when it holds the same public key (a retried create, or our own
 * import whose answer was lost); a different key is an error, never silently reused.
 */
export async function importLeaseKeyPair(deps: KeyPairDeps, leaseId: string, publicKey: string, tags: Record<string, string>): Promise<{ name: string; createdAt: number }> {
  const name = keyPairName(leaseId);
  const createdAt = deps.retry.clock.now();
  try {
    await withRetry(deps.retry, () =>
      deps.ec2.send(
        new ImportKeyPairCommand({
          KeyName: name,
          PublicKeyMaterial: new TextEncoder().encode(keyBody(publicKey)),
          TagSpecifications: [{ ResourceType: 'key-pair', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      ),
    );
    return { name, createdAt };
  } catch (error) {
    if (classifyEc2Error(error) !== 'duplicate') throw toCrabboxError('ImportKeyPair', error);
  }
  // EC2 says the name is taken, but describing it by name may still answer NotFound for a moment.
  const existing = await withPropagation(deps.retry, ['InvalidKeyPair.NotFound'], () => deps.ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true })), { startedAt: createdAt }).catch((error: unknown) => {
    throw toCrabboxError('DescribeKeyPairs', error);
  });
  const stored = existing.KeyPairs?.[0]?.PublicKey;
  if (stored && keyBody(stored) === keyBody(publicKey)) return { name, createdAt };
  throw new CrabboxError('conflict', `EC2 key pair ${name} already exists with a different public key`, {
    hint: `delete it (aws ec2 delete-key-pair --key-name ${name}) if it is stale`,
  });
}

/** Deletes a lease key pair. Missing is fine; a name outside our exact scheme is refused. */
export async function deleteLeaseKeyPair(deps: KeyPairDeps, name: string): Promise<'deleted' | 'already-gone'> {
  if (!isOurKeyPairName(name)) throw new CrabboxError('invalid_input', `refusing to delete key pair ${JSON.stringify(name.slice(0, 80))}: not a Crabbox lease key`);
  try {
    await withRetry(deps.retry, () => deps.ec2.send(new DeleteKeyPairCommand({ KeyName: name })));
    return 'deleted';
  } catch (error) {
    if (classifyEc2Error(error) === 'not-found') return 'already-gone';
    throw toCrabboxError('DeleteKeyPair', error);
  }
}

export interface KeyPairSweepResult {
  deleted: string[];
  kept: { name: string; reason: 'lease-live' | 'too-young' }[];
}

/**
 * Deletes lease key pairs that outlived their instance (a crash between ImportKeyPair and RunInstances, or a
 * failed delete): only names in our exact scheme, tagged `crabbox=true`, whose lease has no live instance and
 * that are older than `minAgeMs` (so a create in progress is never raced).
 */
export async function sweepOrphanKeyPairs(deps: KeyPairDeps, options: { liveLeaseIds: Set<string>; now: number; minAgeMs: number }): Promise<KeyPairSweepResult> {
  const out = await withRetry(deps.retry, () => deps.ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:crabbox', Values: ['true'] }] }))).catch((error: unknown) => {
    throw toCrabboxError('DescribeKeyPairs', error);
  });
  const result: KeyPairSweepResult = { deleted: [], kept: [] };
  for (const pair of out.KeyPairs ?? []) {
    const name = pair.KeyName;
    const lease = name ? KEY_NAME_PATTERN.exec(name)?.[1] : undefined;
    if (!name || !lease) continue;
    if (options.liveLeaseIds.has(lease)) result.kept.push({ name, reason: 'lease-live' });
    else if (!pair.CreateTime || options.now - pair.CreateTime.getTime() < options.minAgeMs) result.kept.push({ name, reason: 'too-young' });
    else if ((await deleteLeaseKeyPair(deps, name)) === 'deleted') result.deleted.push(name);
  }
  return result;
}

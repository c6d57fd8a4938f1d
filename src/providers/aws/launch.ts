import { DescribeInstancesCommand, RunInstancesCommand, type EC2Client, type Instance, type RunInstancesCommandInput, type Tag } from '@aws-sdk/client-ec2';
import { CrabboxError } from '../../domain/errors.ts';
import { classifyEc2Error, ec2ErrorCode, SPOT_ROLE_CODE, toCrabboxError, type Ec2ErrorKind } from './errors.ts';
import { withPropagation, withRetry, type RetryPolicy } from './retry.ts';

export type Market = 'spot' | 'on-demand';

export interface LaunchCandidate {
  type: string;
  market: Market;
}

/**
 * The order launches are tried in: every type on Spot first (cheapest), then, when allowed, every type on-demand.
 */
export function launchCandidates(types: string[], market: Market, onDemandFallback: boolean): LaunchCandidate[] {
  const unique = [...new Set(types)];
  const spot = market === 'spot' ? unique.map((type) => ({ type, market: 'spot' as const })) : [];
  const onDemand = market === 'on-demand' || onDemandFallback ? unique.map((type) => ({ type, market: 'on-demand' as const })) : [];
  return [...spot, ...onDemand];
}

export interface LaunchParams {
  leaseId: string;
  imageFor: (type: string) => Promise<string>;
  /** The lease's key pair; none for a box that trusts the coordinator's user CA (docs/ssh-ca.md). */
  keyName?: string | undefined;
  securityGroupId: string;
  subnetId?: string | undefined;
  userData: string;
  rootVolumeGiB: number;
  tags: Record<string, string>;
  /** When the key pair and security group were made: their NotFound is waited out from then (eventual consistency). */
  dependenciesSince: number;
}

/** Answers RunInstances gives for a key pair or group created moments ago that it cannot see yet. */
export const DEPENDENCY_NOT_FOUND = ['InvalidKeyPair.NotFound', 'InvalidGroup.NotFound'];

export interface LaunchAttempt extends LaunchCandidate {
  outcome: 'launched' | Ec2ErrorKind;
  code?: string | undefined;
}

export interface LaunchResult {
  instance: Instance;
  candidate: LaunchCandidate;
  attempts: LaunchAttempt[];
}

function tagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** The RunInstances request for one candidate. ClientToken is the lease id, so a retried request never launches twice. */
export function runInstancesInput(params: LaunchParams, candidate: LaunchCandidate, imageId: string, clientToken = params.leaseId): RunInstancesCommandInput {
  const tags = tagList(params.tags);
  const network = params.subnetId
    ? { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: params.subnetId, Groups: [params.securityGroupId], AssociatePublicIpAddress: true, DeleteOnTermination: true }] }
    : { SecurityGroupIds: [params.securityGroupId] };
  return {
    ClientToken: clientToken,
    ImageId: imageId,
    InstanceType: candidate.type as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ...(params.keyName ? { KeyName: params.keyName } : {}),
    UserData: Buffer.from(params.userData, 'utf8').toString('base64'),
    // A box that shuts itself down is gone, not a stopped instance that still bills for its volume.
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
    BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: params.rootVolumeGiB, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
    ...network,
    ...(candidate.market === 'spot'
      ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } } }
      : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
      ...(candidate.market === 'spot' ? [{ ResourceType: 'spot-instances-request' as const, Tags: tags }] : []),
    ],
  };
}

/** A per-candidate client token (at most 64 ASCII characters), used only when the lease id token is already bound. */
export function candidateToken(leaseId: string, candidate: LaunchCandidate): string {
  return `${leaseId}.${candidate.market}.${candidate.type}`.slice(0, 64);
}

/**
 * What an earlier, successful RunInstances with this client token launched: the live instance, or `gone` when it
 * exists only as shutting-down/terminated. EC2 keeps terminated instances listed for a while, so "nothing at all"
 * means the instance is not visible yet (eventual consistency): that is retried within the propagation window.
 */
async function findByClientToken(ec2: EC2Client, retry: RetryPolicy, token: string): Promise<Instance | 'gone'> {
  const started = retry.clock.now();
  for (let wait = 0; ; wait++) {
    const res = await withRetry(retry, () => ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] })));
    const all = res.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    const live = all.find((i) => i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down');
    if (live) return live;
    if (all.length > 0) return 'gone';
    const delay = Math.min(500 * 2 ** wait, 10_000);
    if (retry.clock.now() + delay - started > retry.propagationMs) return 'gone';
    await retry.clock.sleep(delay);
  }
}

export interface LaunchDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
  onAttempt?: ((attempt: LaunchAttempt) => void) | undefined;
}

/** What the operator must change when the account's first Spot launch cannot create the Spot service-linked role. */
export const SPOT_ROLE_HINT =
  'allow iam:CreateServiceLinkedRole for spot.amazonaws.com (see docs/providers/aws.md), or create the role once: aws iam create-service-linked-role --aws-service-name spot.amazonaws.com';

/**
 * Launches one instance, walking the candidates. Capacity, quota and "unsupported" answers move on (immediately, no
 * backoff); a Spot-only quota or a missing Spot service-linked role skips the remaining Spot candidates; any other
 * error stops the walk. Transient errors and throttling are retried with the same client token, so a lost response
 * never yields a second instance; a key pair or group EC2 cannot see yet is waited for within the propagation window.
 */
export async function launchFirstAvailable(deps: LaunchDeps, params: LaunchParams, candidates: LaunchCandidate[]): Promise<LaunchResult> {
  const attempts: LaunchAttempt[] = [];
  let skipSpot = false;
  for (const candidate of candidates) {
    if (candidate.market === 'spot' && skipSpot) continue;
    const imageId = await params.imageFor(candidate.type);
    let token = params.leaseId;
    for (;;) {
      try {
        const input = runInstancesInput(params, candidate, imageId, token);
        const res = await withPropagation(deps.retry, DEPENDENCY_NOT_FOUND, () => deps.ec2.send(new RunInstancesCommand(input)), { startedAt: params.dependenciesSince });
        const instance = res.Instances?.[0];
        if (!instance?.InstanceId) throw new CrabboxError('provider_error', 'EC2 RunInstances returned no instance');
        const attempt: LaunchAttempt = { ...candidate, outcome: 'launched' };
        attempts.push(attempt);
        deps.onAttempt?.(attempt);
        return { instance, candidate, attempts };
      } catch (error) {
        const kind = classifyEc2Error(error);
        const attempt: LaunchAttempt = { ...candidate, outcome: kind, code: ec2ErrorCode(error) };
        attempts.push(attempt);
        deps.onAttempt?.(attempt);
        if (kind === 'idempotent-mismatch' && token === params.leaseId) {
          // An earlier request with this lease's token already launched (with other parameters): adopt it.
          const existing = await findByClientToken(deps.ec2, deps.retry, params.leaseId).catch(() => undefined);
          if (existing && existing !== 'gone' && existing.InstanceId) return { instance: existing, candidate: { type: existing.InstanceType ?? candidate.type, market: existing.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand' }, attempts };
          // The token is bound to a request that left nothing alive: this candidate gets its own deterministic
          // token, so its retries still never launch twice (and create() found no instance tagged with the lease).
          token = candidateToken(params.leaseId, candidate);
          continue;
        }
        if (kind === 'spot-quota' || kind === 'spot-role') {
          skipSpot = true;
          break;
        }
        if (kind === 'capacity' || kind === 'quota' || kind === 'unsupported') break;
        throw toCrabboxError('RunInstances', error);
      }
    }
  }
  throw noCandidateLaunched(attempts);
}

/** The error when every candidate was refused: capacity, or (when EC2 said so) configuration or a missing permission. */
export function noCandidateLaunched(attempts: LaunchAttempt[]): CrabboxError {
  const tried = attempts.map((a) => `${a.type}/${a.market}: ${a.code ?? a.outcome}`).join('; ');
  const detail = { provider: 'aws', attempts };
  if (attempts.length > 0 && attempts.every((a) => a.outcome === 'spot-role')) {
    return new CrabboxError('forbidden', `EC2 refused Spot: ${SPOT_ROLE_CODE} (these credentials may not create the Spot service-linked role AWSServiceRoleForEC2Spot), and on-demand fallback is off`, { hint: SPOT_ROLE_HINT, detail });
  }
  if (attempts.length > 0 && attempts.every((a) => a.outcome === 'unsupported' || a.outcome === 'spot-role')) {
    return new CrabboxError('invalid_config', `EC2 does not support any candidate as configured (${tried})`, {
      hint: 'this is configuration, not capacity: check --type / the class types (classes.<name>.aws), aws.market, aws.ami and the zone of aws.subnetId',
      detail,
    });
  }
  return new CrabboxError('provider_capacity', `EC2 has no capacity for any candidate (${tried || 'no candidates'})`, {
    hint: attempts.some((a) => a.outcome === 'unsupported')
      ? 'some candidates are not supported here (Unsupported): check the class types and aws.region; for the others try later, another class or region, or a higher quota'
      : 'try another class or type, another region (aws.region), or ask AWS for a higher quota',
    detail,
  });
}

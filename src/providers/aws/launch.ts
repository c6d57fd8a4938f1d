import { DescribeInstancesCommand, RunInstancesCommand, type EC2Client, type Instance, type RunInstancesCommandInput, type Tag } from '@aws-sdk/client-ec2';
import { CrabboxError } from '../../domain/errors.ts';
import { classifyEc2Error, ec2ErrorCode, toCrabboxError, type Ec2ErrorKind } from './errors.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

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
  keyName: string;
  securityGroupId: string;
  subnetId?: string | undefined;
  userData: string;
  rootVolumeGiB: number;
  tags: Record<string, string>;
}

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
    KeyName: params.keyName,
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

/** The instance an earlier, successful RunInstances with this client token launched, if any is still alive. */
async function findByClientToken(ec2: EC2Client, retry: RetryPolicy, token: string): Promise<Instance | undefined> {
  const res = await withRetry(retry, () => ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] })));
  return res.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down');
}

export interface LaunchDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
  onAttempt?: ((attempt: LaunchAttempt) => void) | undefined;
}

/**
 * Launches one instance, walking the candidates. Only capacity and quota errors move on (immediately, no backoff);
 * a Spot-only quota skips the remaining Spot candidates; any other error stops the walk. Transient errors are
 * retried with the same client token, so a lost response never yields a second instance.
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
        const res = await withRetry(deps.retry, () => deps.ec2.send(new RunInstancesCommand(runInstancesInput(params, candidate, imageId, token))));
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
          if (existing?.InstanceId) return { instance: existing, candidate: { type: existing.InstanceType ?? candidate.type, market: existing.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand' }, attempts };
          // The token is bound to a request that left nothing alive: this candidate gets its own deterministic
          // token, so its retries still never launch twice (and create() found no instance tagged with the lease).
          token = candidateToken(params.leaseId, candidate);
          continue;
        }
        if (kind === 'spot-quota') {
          skipSpot = true;
          break;
        }
        if (kind === 'capacity' || kind === 'quota') break;
        throw toCrabboxError('RunInstances', error);
      }
    }
  }
  const tried = attempts.map((a) => `${a.type}/${a.market}: ${a.code ?? a.outcome}`).join('; ');
  throw new CrabboxError('provider_capacity', `EC2 has no capacity for any candidate (${tried || 'no candidates'})`, {
    hint: 'try another class or type, another region (aws.region), or ask AWS for a higher quota',
    detail: { provider: 'aws', attempts },
  });
}

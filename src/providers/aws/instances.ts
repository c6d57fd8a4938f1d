import { DescribeInstancesCommand, TerminateInstancesCommand, type EC2Client, type Filter, type Instance } from '@aws-sdk/client-ec2';
import type { Clock } from '../../domain/clock.ts';
import type { Labels } from '../../domain/labels.ts';
import { CrabboxError } from '../../domain/errors.ts';
import type { Machine, MachineStatus } from '../provider.ts';
import { classifyEc2Error, toCrabboxError } from './errors.ts';
import { withPropagation, withRetry, type RetryPolicy } from './retry.ts';

/** Tags the provider keeps for itself; everything else on the instance is the lease's labels. */
export const HOST_KEY_TAG = 'crabbox-hostkey';
export const NAME_TAG = 'Name';
export const RESERVED_TAGS = new Set([HOST_KEY_TAG, NAME_TAG]);

/** EC2 instance ids: `i-` and 8 or 17 hex digits. Anything else is never sent to the API. */
export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/** States in which the instance still exists for billing and cleanup purposes. */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

export interface InstanceDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
}

export interface MachineShape {
  ports: number[];
  sshUser: string;
  workRoot: string;
  region: string;
}

function status(state: string | undefined): MachineStatus {
  switch (state) {
    case 'pending':
      return 'provisioning';
    case 'running':
      return 'running';
    case 'stopping':
    case 'stopped':
      return 'stopped';
    case 'shutting-down':
    case 'terminated':
      return 'deleting';
    default:
      return 'unknown';
  }
}

/** Tags as a plain map. */
export function tagMap(instance: Instance): Record<string, string> {
  return Object.fromEntries((instance.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
}

/** How the rest of Crabbox sees an EC2 instance. */
export function toMachine(instance: Instance, shape: MachineShape): Machine {
  const tags = tagMap(instance);
  const labels: Labels = Object.fromEntries(Object.entries(tags).filter(([k]) => !RESERVED_TAGS.has(k)));
  return {
    provider: 'aws',
    providerId: instance.InstanceId ?? '',
    host: instance.PublicIpAddress ?? '',
    ports: [...shape.ports],
    sshUser: shape.sshUser,
    workRoot: shape.workRoot,
    hostKey: tags[HOST_KEY_TAG] ?? '',
    labels,
    status: status(instance.State?.Name),
    type: instance.InstanceType,
    region: shape.region,
    createdAt: instance.LaunchTime?.getTime(),
  };
}

/** Every live instance matching the filters, following NextToken to the end. */
export async function describeAll(deps: InstanceDeps, filters: Filter[]): Promise<Instance[]> {
  const out: Instance[] = [];
  let token: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await withRetry(deps.retry, () =>
      deps.ec2.send(new DescribeInstancesCommand({ Filters: [...filters, { Name: 'instance-state-name', Values: LIVE_STATES }], MaxResults: 1000, NextToken: token })),
    ).catch((error: unknown) => {
      throw toCrabboxError('DescribeInstances', error);
    });
    for (const r of res.Reservations ?? []) out.push(...(r.Instances ?? []));
    token = res.NextToken || undefined;
    if (!token) return out;
  }
  throw new CrabboxError('provider_error', 'EC2 DescribeInstances: pagination did not end after 1000 pages');
}

/** EC2's answer for an instance id it does not know (yet, right after launch: eventual consistency). */
export const INSTANCE_NOT_FOUND = ['InvalidInstanceID.NotFound'];

/** Runs an instance call; for an instance launched at `launchedAt` its NotFound is waited out within the propagation window. */
function instanceCall<T>(deps: InstanceDeps, launchedAt: number | undefined, fn: () => Promise<T>): Promise<T> {
  return launchedAt === undefined ? withRetry(deps.retry, fn) : withPropagation(deps.retry, INSTANCE_NOT_FOUND, fn, { startedAt: launchedAt });
}

/**
 * One instance by id, whatever its state; undefined when EC2 does not know it. For an instance this process launched
 * at `launchedAt`, "not found" inside the propagation window means "not visible yet" and is retried, never believed.
 */
export async function describeOne(deps: InstanceDeps, instanceId: string, launchedAt?: number): Promise<Instance | undefined> {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
  try {
    const res = await instanceCall(deps, launchedAt, () => deps.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
    return res.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  } catch (error) {
    if (classifyEc2Error(error) === 'not-found') return undefined;
    throw toCrabboxError('DescribeInstances', error);
  }
}

/** True when the instance no longer exists in any billable sense. */
export function isGone(instance: Instance | undefined): boolean {
  const state = instance?.State?.Name;
  return !instance || state === 'shutting-down' || state === 'terminated';
}

/**
 * Terminates an instance. Already terminating, terminated or unknown counts as gone, except that an instance launched
 * at `launchedAt` is not taken for gone on a "not found" inside the propagation window (it is retried until EC2 sees it).
 */
export async function terminate(deps: InstanceDeps, instanceId: string, launchedAt?: number): Promise<'deleted' | 'already-gone'> {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) return 'already-gone';
  try {
    const res = await instanceCall(deps, launchedAt, () => deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    const previous = res.TerminatingInstances?.find((t) => t.InstanceId === instanceId)?.PreviousState?.Name;
    return previous === 'shutting-down' || previous === 'terminated' ? 'already-gone' : 'deleted';
  } catch (error) {
    if (classifyEc2Error(error) === 'not-found') return 'already-gone';
    throw toCrabboxError('TerminateInstances', error);
  }
}

export interface WaitOptions {
  clock: Clock;
  deadlineMs: number;
  pollMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Polls until the instance has a public IPv4 address, bounded by a deadline on the injected clock.
 * Fails early when the instance dies (e.g. a Spot request that was never fulfilled).
 */
export async function waitForPublicIp(deps: InstanceDeps, instanceId: string, options: WaitOptions): Promise<Instance> {
  const deadline = options.clock.now() + options.deadlineMs;
  for (;;) {
    if (options.signal?.aborted) throw new CrabboxError('interrupted', `stopped waiting for ${instanceId} to get a public IP`);
    // Transient errors and "not found yet" (eventual consistency): keep polling until the deadline.
    const instance = await describeOne(deps, instanceId).catch(() => undefined);
    if (instance?.PublicIpAddress) return instance;
    if (instance && isGone(instance)) {
      const reason = instance.StateReason?.Message ?? instance.State?.Name ?? 'terminated';
      throw new CrabboxError('provider_capacity', `EC2 instance ${instanceId} ended before it got an address: ${reason}`);
    }
    if (options.clock.now() >= deadline) {
      throw new CrabboxError('timeout', `timed out after ${Math.round(options.deadlineMs / 1000)}s waiting for EC2 instance ${instanceId} to get a public IP`);
    }
    await options.clock.sleep(options.pollMs, options.signal).catch(() => undefined);
  }
}

import { CrabboxError } from '../../domain/errors.ts';

/**
 * What an EC2 failure means for the caller. Classified by error code, never by message text, so a capacity
 * error moves on to the next candidate at once instead of being retried as if it were transient.
 */
export type Ec2ErrorKind =
  | 'capacity' // this type/market has no room right now: try the next candidate
  | 'quota' // an account limit for this market or type: try the next candidate or the other market
  | 'spot-quota' // a Spot-only limit: skip the remaining Spot candidates
  | 'spot-role' // the account has no Spot service-linked role and these credentials may not create it: skip Spot
  | 'unsupported' // this type/market/AZ/image combination is not offered: try the next candidate, but it may be configuration
  | 'not-found'
  | 'duplicate'
  | 'idempotent-mismatch'
  | 'throttled'
  | 'transient' // 5xx, connection resets: safe to retry a bounded number of times
  | 'fatal';

const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnOutpost',
  'UnfulfillableCapacity',
  'SpotMaxPriceTooLow',
]);
const QUOTA = new Set(['InstanceLimitExceeded', 'VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded']);
const SPOT_QUOTA = new Set(['MaxSpotInstanceCountExceeded']);
const NOT_FOUND = new Set([
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'InvalidKeyPair.NotFound',
  'InvalidGroup.NotFound',
  'InvalidPermission.NotFound',
]);
/** The first Spot launch in an account creates AWSServiceRoleForEC2Spot; without iam:CreateServiceLinkedRole it fails so. */
export const SPOT_ROLE_CODE = 'AuthFailure.ServiceLinkedRoleCreationNotPermitted';
const DUPLICATE = new Set(['InvalidKeyPair.Duplicate', 'InvalidPermission.Duplicate', 'InvalidGroup.Duplicate']);
const THROTTLED = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);
const TRANSIENT = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'TimeoutError', 'RequestTimeout']);

/** The EC2 error code of an SDK error, or the network error code. */
export function ec2ErrorCode(error: unknown): string {
  const e = error as { name?: string; Code?: string; code?: string } | undefined;
  return e?.Code ?? (typeof e?.code === 'string' ? e.code : undefined) ?? e?.name ?? 'Unknown';
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Classifies an EC2 (or network) failure by its error code. */
export function classifyEc2Error(error: unknown): Ec2ErrorKind {
  const code = ec2ErrorCode(error);
  if (SPOT_QUOTA.has(code)) return 'spot-quota';
  if (code === SPOT_ROLE_CODE) return 'spot-role';
  if (CAPACITY.has(code)) return 'capacity';
  if (code === 'Unsupported') return 'unsupported';
  if (QUOTA.has(code)) return 'quota';
  if (NOT_FOUND.has(code)) return 'not-found';
  if (DUPLICATE.has(code)) return 'duplicate';
  if (code === 'IdempotentParameterMismatch') return 'idempotent-mismatch';
  if (THROTTLED.has(code)) return 'throttled';
  if (TRANSIENT.has(code) || NETWORK.has(code)) return 'transient';
  const status = httpStatus(error);
  if (status !== undefined && status >= 500) return 'transient';
  return 'fatal';
}

/** One line for humans: `EC2 RunInstances: InsufficientInstanceCapacity: message`. */
export function describeEc2Error(action: string, error: unknown): string {
  const message = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error).slice(0, 300);
  const code = ec2ErrorCode(error);
  return `EC2 ${action}: ${code}${message && message !== code ? `: ${message}` : ''}`;
}

/** Turns an EC2 failure into the catalog error the rest of Crabbox understands. */
export function toCrabboxError(action: string, error: unknown, hint?: string): CrabboxError {
  if (error instanceof CrabboxError) return error;
  const kind = classifyEc2Error(error);
  const code = kind === 'capacity' || kind === 'quota' || kind === 'spot-quota' ? 'provider_capacity' : kind === 'throttled' ? 'rate_limited' : 'provider_error';
  return new CrabboxError(code, describeEc2Error(action, error), { cause: error, hint, detail: { provider: 'aws', action, awsError: ec2ErrorCode(error) } });
}

import type { UserConfigFile } from '../../config/schema.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { registerSecret } from '../../redact/redact.ts';
import { parseCidr, parseCidrList } from '../../net/cidr.ts';
import type { Market } from './launch.ts';

/** The security group crabbox makes (and reuses) when `aws.securityGroupName` is unset. */
export const DEFAULT_SECURITY_GROUP = 'crabbox-runners';

/** The AWS provider's resolved settings: config `aws.*` with the CRABBOX_AWS_* env overrides applied. */
export interface AwsSettings {
  region: string;
  endpoint: string | undefined;
  ami: string | undefined;
  /** `aws.types`: replaces the default class's AWS list; undefined means "use the class table". */
  types: string[] | undefined;
  market: Market;
  onDemandFallback: boolean;
  rootVolumeGiB: number;
  /** Operator override for SSH access; undefined means "use the caller's CIDR". */
  sshCidrs: string[] | undefined;
  maxCallerCidrs: number;
  subnetId: string | undefined;
  securityGroupName: string;
  ipWaitMs: number;
}

export const DEFAULT_AWS_REGION = 'eu-west-1';

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** An endpoint override must be https, or http on loopback (the local fake). */
function checkEndpoint(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost' || parsed.hostname === '[::1]';
  if (parsed.username || parsed.password) throw new CrabboxError('invalid_config', 'aws.endpoint must not contain credentials');
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) throw new CrabboxError('invalid_config', `aws.endpoint must use https (http only on loopback), got ${parsed.origin}`);
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}

/**
 * Resolves AWS settings: env (CRABBOX_AWS_REGION, CRABBOX_AWS_SSH_CIDRS) > user config > defaults.
 * AWS credentials are read by the SDK from its own chain; here they are only registered for redaction.
 */
export function resolveAwsSettings(section: UserConfigFile['aws'], env: NodeJS.ProcessEnv): AwsSettings {
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
  const regionEnv = env.CRABBOX_AWS_REGION?.trim() || undefined;
  if (regionEnv !== undefined && !REGION.test(regionEnv)) throw new CrabboxError('invalid_config', `CRABBOX_AWS_REGION=${JSON.stringify(regionEnv.slice(0, 40))}: expected an AWS region such as eu-west-1`);
  const cidrsEnv = parseCidrList(env.CRABBOX_AWS_SSH_CIDRS, 'CRABBOX_AWS_SSH_CIDRS');
  const cidrsConfig = section?.sshCidrs?.map((c) => parseCidr(c, 'aws.sshCidrs').cidr);
  return {
    region: regionEnv ?? section?.region ?? DEFAULT_AWS_REGION,
    endpoint: checkEndpoint(section?.endpoint),
    ami: section?.ami,
    types: section?.types,
    market: section?.market ?? 'spot',
    onDemandFallback: section?.onDemandFallback ?? true,
    rootVolumeGiB: section?.rootVolumeGiB ?? 100,
    sshCidrs: cidrsEnv ?? (cidrsConfig && cidrsConfig.length > 0 ? cidrsConfig : undefined),
    maxCallerCidrs: section?.maxCallerCidrs ?? 16,
    subnetId: section?.subnetId,
    securityGroupName: section?.securityGroupName ?? DEFAULT_SECURITY_GROUP,
    ipWaitMs: (section?.ipWait ?? 300) * 1000,
  };
}

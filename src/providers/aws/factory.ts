import type { Clock } from '../../domain/clock.ts';
import type { ClassOverrides } from '../classes.ts';
import type { MachineSpec } from '../provider.ts';
import { makeEc2Client } from './client.ts';
import { AwsProvider, awsClasses, type AwsEvent } from './provider.ts';
import type { AwsSettings } from './settings.ts';

export interface AwsProviderDeps {
  /** The runner bootstrap (cloud-init user data) for a lease. */
  userData: (spec: MachineSpec) => string;
  /** Primary SSH port first, then fallbacks, from the `ssh` config. */
  sshPorts: number[];
  /** Config `classes`; each create resolves its own class or type against them (and `aws.types`). */
  classes?: ClassOverrides | undefined;
  clock?: Clock | undefined;
  onEvent?: ((event: AwsEvent) => void) | undefined;
  /** Explicit credentials (the Worker's secrets); without them the SDK's default chain (env, profile, SSO, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/** Builds the AWS provider from resolved settings; credentials come from the AWS SDK's default chain. */
export function createAwsProvider(settings: AwsSettings, deps: AwsProviderDeps): AwsProvider {
  return new AwsProvider({
    ec2: makeEc2Client({ region: settings.region, endpoint: settings.endpoint, credentials: deps.credentials }),
    region: settings.region,
    classes: awsClasses(deps.classes, settings.types),
    market: settings.market,
    onDemandFallback: settings.onDemandFallback,
    ami: settings.ami,
    rootVolumeGiB: settings.rootVolumeGiB,
    subnetId: settings.subnetId,
    securityGroupName: settings.securityGroupName,
    sshPorts: deps.sshPorts,
    sshCidrs: settings.sshCidrs,
    maxCallerCidrs: settings.maxCallerCidrs,
    ipWaitMs: settings.ipWaitMs,
    userData: deps.userData,
    clock: deps.clock,
    onEvent: deps.onEvent,
  });
}

import { CreateTagsCommand, DeleteTagsCommand, DescribeSubnetsCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { CLOUD_CAPABILITIES, certificatesOnly, cloudLogin } from '../cloud-capabilities.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { chooseTypes, type ClassOverrides } from '../classes.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { LEASE_ID_PATTERN } from '../../domain/ids.ts';
import { LABEL, type Labels } from '../../domain/labels.ts';
import type { CreateOptions, DanglingSweepOptions, DanglingSweepReport, DeleteResult, Machine, MachineSpec, Provider, ProviderCapabilities } from '../provider.ts';
import { archForType, findUbuntuAmi, type Arch } from './ami.ts';
import { parseCidr } from '../../net/cidr.ts';
import { canonicalCidr } from '../cidr.ts';
import { DEFAULT_CLASS } from '../classes.ts';
import { toCrabboxError } from './errors.ts';
import { HOST_KEY_TAG, INSTANCE_ID_PATTERN, NAME_TAG, RESERVED_TAGS, describeAll, describeOne, isGone, tagMap, terminate, toMachine, waitForPublicIp, type MachineShape } from './instances.ts';
import { deleteLeaseKeyPair, importLeaseKeyPair, isOurKeyPairName, sweepOrphanKeyPairs, type KeyPairSweepResult } from './keypair.ts';
import { launchCandidates, launchFirstAvailable, SPOT_ROLE_HINT, type LaunchAttempt, type Market } from './launch.ts';
import { PriceBook } from './price.ts';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.ts';
import { ensureSshSecurityGroup } from './security-group.ts';
import { DEFAULT_SECURITY_GROUP } from './settings.ts';

/** What the provider reports as it works, so the coordinator's events can tell the story. */
export type AwsEvent =
  | { event: 'aws.launch.attempt'; leaseId: string; attempt: LaunchAttempt }
  | { event: 'aws.launch.created'; leaseId: string; instanceId: string; type: string; market: Market }
  | { event: 'aws.ip.timeout'; leaseId: string; instanceId: string; cleanup: 'terminated' | 'terminate-failed' }
  | { event: 'aws.cleanup.failed'; leaseId: string; instanceId?: string; message: string }
  | { event: 'aws.spot.role-missing'; leaseId: string; hint: string };

export interface AwsProviderOptions {
  ec2: EC2Client;
  region: string;
  /**
   * Config `classes` (with `aws.types` folded in as the default class's list): each create resolves its own
   * `spec.class` / `spec.type` against this table, so a brokered `--class beast` launches beast types.
   */
  classes?: ClassOverrides | undefined;
  market?: Market | undefined;
  /** Fall back from Spot to on-demand on capacity or quota errors (default true). */
  onDemandFallback?: boolean | undefined;
  ami?: string | undefined;
  rootVolumeGiB?: number | undefined;
  subnetId?: string | undefined;
  securityGroupName?: string | undefined;
  /** Primary SSH port first, then fallbacks (default [2222, 22]). */
  sshPorts?: number[] | undefined;
  /** Operator override of the SSH CIDRs (CRABBOX_AWS_SSH_CIDRS / aws.sshCidrs): replaces spec.allowedCidrs. */
  sshCidrs?: string[] | undefined;
  /** How many distinct caller CIDRs the shared security group may hold (default 16). */
  maxCallerCidrs?: number | undefined;
  /** Renders the cloud-init user data for a lease (the runner bootstrap). */
  userData: (spec: MachineSpec) => string;
  /** All waiting (backoff, propagation, polls) goes through this clock. */
  clock?: Clock | undefined;
  /** Jitter source for throttling backoff, [0, 1) (default Math.random). */
  random?: (() => number) | undefined;
  /** Bound on the public-IP wait (default 5 min) and its poll interval (default 3 s). */
  ipWaitMs?: number | undefined;
  pollMs?: number | undefined;
  retry?: Partial<Omit<RetryPolicy, 'clock' | 'random'>> | undefined;
  onEvent?: ((event: AwsEvent) => void) | undefined;
}

/** EC2's limit on user data: 16 KB before base64 encoding. */
export const MAX_EC2_USER_DATA_BYTES = 16 * 1024;

/** `aws.types`, when set, is the AWS list of the default class; everything else comes from the class table. */
export function awsClasses(classes: ClassOverrides | undefined, types: string[] | undefined): ClassOverrides | undefined {
  if (!types || types.length === 0) return classes;
  const merged: ClassOverrides = structuredClone(classes ?? {});
  merged[DEFAULT_CLASS] = { ...merged[DEFAULT_CLASS], aws: [...types] };
  return merged;
}

/** AWS EC2 (Spot first) as a Crabbox provider. */
export class AwsProvider implements Provider {
  readonly name = 'aws';
  readonly capabilities: ProviderCapabilities = CLOUD_CAPABILITIES;
  readonly #o: AwsProviderOptions;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  /** Instances this provider launched, by id, with their launch time: their NotFound is not believed for a while. */
  readonly #launched = new Map<string, number>();
  /** Set once EC2 refused Spot for a missing service-linked role: later creates go straight to on-demand. */
  #spotRoleMissing = false;
  readonly #shape: MachineShape;
  readonly #prices: PriceBook;
  readonly #amis = new Map<Arch, Promise<string>>();
  #vpcId: Promise<string | undefined> | undefined;

  constructor(options: AwsProviderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry, clock: this.#clock, random: options.random ?? Math.random };
    this.#shape = { ports: options.sshPorts ?? [2222, 22], sshUser: 'crabbox', workRoot: '/work/crabbox', region: options.region };
    this.#prices = new PriceBook({ ec2: options.ec2, retry: this.#retry, clock: this.#clock });
  }

  get #deps(): { ec2: EC2Client; retry: RetryPolicy } {
    return { ec2: this.#o.ec2, retry: this.#retry };
  }

  #machine(instance: Instance): Machine {
    return toMachine(instance, this.#shape);
  }

  #cidrs(spec: MachineSpec): string[] {
    const chosen = this.#o.sshCidrs && this.#o.sshCidrs.length > 0 ? this.#o.sshCidrs : (spec.allowedCidrs ?? []);
    const cidrs = [...new Set(chosen.map((c) => canonicalCidr(parseCidr(c, 'ssh CIDR').cidr)))];
    if (cidrs.length === 0) {
      throw new CrabboxError('bad_request', 'aws: no caller CIDR known for SSH access', { hint: 'set CRABBOX_AWS_SSH_CIDRS (e.g. 203.0.113.7/32) or aws.sshCidrs' });
    }
    return cidrs;
  }

  #image(type: string): Promise<string> {
    if (this.#o.ami) return Promise.resolve(this.#o.ami);
    const arch = archForType(type);
    let found = this.#amis.get(arch);
    if (!found) {
      found = findUbuntuAmi(this.#deps, arch);
      found.catch(() => this.#amis.delete(arch));
      this.#amis.set(arch, found);
    }
    return found;
  }

  #vpc(): Promise<string | undefined> {
    const subnetId = this.#o.subnetId;
    if (!subnetId) return Promise.resolve(undefined);
    this.#vpcId ??= withRetry(this.#retry, () => this.#o.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).then(
      (out) => {
        const vpc = out.Subnets?.[0]?.VpcId;
        if (!vpc) throw new CrabboxError('invalid_config', `aws.subnetId ${subnetId} not found`);
        return vpc;
      },
      (error: unknown) => {
        this.#vpcId = undefined;
        throw toCrabboxError('DescribeSubnets', error, 'check aws.subnetId and aws.region');
      },
    );
    return this.#vpcId;
  }

  async create(spec: MachineSpec, options: CreateOptions = {}): Promise<Machine> {
    if (!LEASE_ID_PATTERN.test(spec.leaseId)) throw new CrabboxError('invalid_input', `not a lease id: ${JSON.stringify(spec.leaseId.slice(0, 40))}`);
    if (spec.type !== undefined && !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(spec.type)) {
      throw new CrabboxError('bad_request', `--type ${JSON.stringify(spec.type.slice(0, 40))}: expected an EC2 instance type such as c7a.2xlarge`);
    }
    // Resolved per request, so the class the caller asked for (not the one the provider was built with) launches.
    const { types } = chooseTypes({ provider: this.name, class: spec.class, type: spec.type, classes: this.#o.classes });
    const existing = (await describeAll(this.#deps, [{ Name: `tag:${LABEL.lease}`, Values: [spec.leaseId] }]))[0];
    if (existing?.InstanceId) {
      await options.onProviderId?.(existing.InstanceId);
      return this.#finish(spec, existing, options);
    }
    // Tunnel mode: no caller CIDR is needed, and the box's group admits nothing inbound.
    const cidrs = spec.tunnel ? [] : this.#cidrs(spec);
    // Rendered and checked before anything billable or visible is made.
    const userData = this.#o.userData(spec);
    const userDataBytes = Buffer.byteLength(userData);
    if (userDataBytes > MAX_EC2_USER_DATA_BYTES) {
      throw new CrabboxError('internal', `the box's user data is ${userDataBytes} bytes; EC2 accepts at most ${MAX_EC2_USER_DATA_BYTES} (16 KB before base64)`);
    }
    const groupName = this.#o.securityGroupName ?? DEFAULT_SECURITY_GROUP;
    const group = await ensureSshSecurityGroup(this.#deps, {
      name: spec.tunnel ? `${groupName}-tunnel` : groupName,
      vpcId: await this.#vpc(),
      ports: spec.tunnel ? [] : this.#shape.ports,
      cidrs,
      maxCidrs: this.#o.maxCallerCidrs ?? 16,
      ...(spec.tunnel ? { description: 'Crabbox runners in tunnel mode: no inbound rule' } : {}),
    });
    // A box that trusts the coordinator's user CA gets no key pair: its bootstrap installs the CA, not the key.
    const key = certificatesOnly(spec) ? undefined : await importLeaseKeyPair(this.#deps, spec.leaseId, spec.sshPublicKey, { [LABEL.marker]: 'true', [LABEL.lease]: spec.leaseId });
    const keyName = key?.name;
    const hostKey = spec.hostKey.publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
    // EC2 tag values hold 256 characters: an ed25519 key fits; a longer key is simply not reported by get/list.
    const tags = { ...spec.labels, [NAME_TAG]: `crabbox-${spec.slug}`, ...(hostKey.length <= 256 ? { [HOST_KEY_TAG]: hostKey } : {}) };
    const market = this.#o.market ?? 'spot';
    const onDemandFallback = this.#o.onDemandFallback ?? true;
    let candidates = launchCandidates(types, market, onDemandFallback);
    if (this.#spotRoleMissing && onDemandFallback) candidates = candidates.filter((c) => c.market === 'on-demand');
    let launched;
    try {
      launched = await launchFirstAvailable(
        {
          ...this.#deps,
          onAttempt: (attempt) => {
            if (attempt.outcome === 'spot-role' && !this.#spotRoleMissing) {
              this.#spotRoleMissing = true;
              this.#o.onEvent?.({ event: 'aws.spot.role-missing', leaseId: spec.leaseId, hint: SPOT_ROLE_HINT });
            }
            this.#o.onEvent?.({ event: 'aws.launch.attempt', leaseId: spec.leaseId, attempt });
          },
        },
        {
          leaseId: spec.leaseId,
          imageFor: (t) => this.#image(t),
          keyName,
          securityGroupId: group.groupId,
          subnetId: this.#o.subnetId,
          userData,
          rootVolumeGiB: this.#o.rootVolumeGiB ?? 100,
          tags,
          dependenciesSince: Math.min(key?.createdAt ?? this.#clock.now(), group.createdAt ?? key?.createdAt ?? this.#clock.now()),
        },
        candidates,
      );
    } catch (error) {
      if (keyName) await deleteLeaseKeyPair(this.#deps, keyName).catch(() => undefined); // nothing launched: the key has no user
      throw error;
    }
    const instanceId = launched.instance.InstanceId!;
    this.#launched.set(instanceId, this.#clock.now());
    this.#o.onEvent?.({ event: 'aws.launch.created', leaseId: spec.leaseId, instanceId, type: launched.candidate.type, market: launched.candidate.market });
    try {
      await options.onProviderId?.(instanceId);
    } catch (error) {
      // The caller could not record the machine: it must not outlive this call.
      await this.#cleanup(spec.leaseId, instanceId, keyName);
      throw error;
    }
    return this.#finish(spec, launched.instance, options);
  }

  /** Waits for the address; on failure the instance is terminated now, or stays recorded (and tagged) for the sweep. */
  async #finish(spec: MachineSpec, instance: Instance, options: CreateOptions): Promise<Machine> {
    const instanceId = instance.InstanceId!;
    try {
      const ready = instance.PublicIpAddress
        ? instance
        : await waitForPublicIp(this.#deps, instanceId, { clock: this.#clock, deadlineMs: this.#o.ipWaitMs ?? 5 * 60_000, pollMs: this.#o.pollMs ?? 3000, signal: options.signal });
      return { ...this.#machine(ready), ...cloudLogin(spec), hostKey: spec.hostKey.publicKey };
    } catch (error) {
      const cleaned = await this.#cleanup(spec.leaseId, instanceId, instance.KeyName);
      this.#o.onEvent?.({ event: 'aws.ip.timeout', leaseId: spec.leaseId, instanceId, cleanup: cleaned ? 'terminated' : 'terminate-failed' });
      throw error;
    }
  }

  /** Best-effort terminate plus key deletion; false when the instance may still exist (the sweep will find its tags). */
  async #cleanup(leaseId: string, instanceId: string, keyName: string | undefined): Promise<boolean> {
    try {
      await terminate(this.#deps, instanceId, this.#launchedAt(instanceId));
    } catch (error) {
      this.#o.onEvent?.({ event: 'aws.cleanup.failed', leaseId, instanceId, message: (error as Error).message });
      return false;
    }
    if (keyName && isOurKeyPairName(keyName)) await deleteLeaseKeyPair(this.#deps, keyName).catch(() => undefined);
    return true;
  }

  /** When this provider launched the instance, while that is recent enough for EC2 to still not know it everywhere. */
  #launchedAt(instanceId: string): number | undefined {
    const at = this.#launched.get(instanceId);
    if (at === undefined) return undefined;
    if (this.#clock.now() - at > this.#retry.propagationMs) {
      this.#launched.delete(instanceId);
      return undefined;
    }
    return at;
  }

  async get(providerId: string): Promise<Machine | undefined> {
    const instance = await describeOne(this.#deps, providerId, this.#launchedAt(providerId));
    return isGone(instance) ? undefined : this.#machine(instance!);
  }

  async list(selector: Labels): Promise<Machine[]> {
    const filters = Object.entries(selector).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
    if (filters.length === 0) filters.push({ Name: 'tag-key', Values: [LABEL.marker] });
    return (await describeAll(this.#deps, filters)).map((i) => this.#machine(i));
  }

  async setLabels(providerId: string, labels: Labels): Promise<void> {
    const instance = await describeOne(this.#deps, providerId, this.#launchedAt(providerId));
    if (isGone(instance)) throw new CrabboxError('not_found', `EC2 instance ${providerId} not found`);
    const current = tagMap(instance!);
    const stale = Object.keys(current).filter((k) => !RESERVED_TAGS.has(k) && k.startsWith('crabbox') && !(k in labels));
    const wanted = Object.entries(labels).filter(([k]) => !RESERVED_TAGS.has(k));
    try {
      if (wanted.length > 0) await withRetry(this.#retry, () => this.#o.ec2.send(new CreateTagsCommand({ Resources: [providerId], Tags: wanted.map(([Key, Value]) => ({ Key, Value })) })));
      if (stale.length > 0) await withRetry(this.#retry, () => this.#o.ec2.send(new DeleteTagsCommand({ Resources: [providerId], Tags: stale.map((Key) => ({ Key })) })));
    } catch (error) {
      throw toCrabboxError('CreateTags', error);
    }
  }

  async delete(providerId: string): Promise<DeleteResult> {
    if (!INSTANCE_ID_PATTERN.test(providerId)) return 'already-gone';
    // A just-launched instance may answer NotFound: within the propagation window that is waited out, not believed.
    const launchedAt = this.#launchedAt(providerId);
    const instance = await describeOne(this.#deps, providerId, launchedAt);
    const result = await terminate(this.#deps, providerId, launchedAt);
    // The key pair goes only once EC2 has confirmed the instance is terminating or gone.
    const keyName = instance?.KeyName;
    if (keyName && isOurKeyPairName(keyName)) await deleteLeaseKeyPair(this.#deps, keyName);
    this.#launched.delete(providerId);
    // Seen alive, then terminated (even if a retried call found it already shutting down): this call deleted it.
    return isGone(instance) ? 'already-gone' : instance ? 'deleted' : result;
  }

  /** Removes lease key pairs whose lease has no live instance (left by a crash mid-create). */
  async sweepKeyPairs(minAgeMs = 60 * 60_000): Promise<KeyPairSweepResult> {
    const live = await describeAll(this.#deps, [{ Name: 'tag-key', Values: [LABEL.lease] }]);
    const liveLeaseIds = new Set(live.map((i) => tagMap(i)[LABEL.lease]).filter((id): id is string => !!id));
    return sweepOrphanKeyPairs(this.#deps, { liveLeaseIds, now: this.#clock.now(), minAgeMs });
  }

  /**
   * The port's dangling sweep: lease key pairs whose instance is gone. Key pairs carry no installation tag, so the
   * guard is the exact name scheme plus "no instance of that lease exists" plus age.
   */
  async sweepDangling(options: DanglingSweepOptions): Promise<DanglingSweepReport> {
    const result = await this.sweepKeyPairs(options.minAgeMs);
    return {
      deleted: result.deleted.map((name) => ({ kind: 'key_pair', name, leaseId: name.replace(/^crabbox-/, ''), reason: 'instance gone' })),
      skipped: result.kept.map((k) => ({ kind: 'key_pair', name: k.name, leaseId: k.name.replace(/^crabbox-/, ''), reason: k.reason === 'lease-live' ? 'its instance exists' : 'too young (a create may be in progress)' })),
    };
  }

  async hourlyPrice(type?: string): Promise<number | undefined> {
    const chosen = type ?? chooseTypes({ provider: this.name, classes: this.#o.classes }).types[0];
    return chosen ? this.#prices.hourly(chosen, this.#o.market ?? 'spot') : undefined;
  }
}

/** The fake account's resources. Plain data; the handlers in `*-actions.ts` change it. */

import type { IngressRule } from '../security-group.ts';

/** An error the fake answers with, in EC2's own codes and statuses. */
export class Ec2Fault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const STATE_CODES: Record<InstanceStateName, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

export interface FakeInstance {
  id: string;
  reservationId: string;
  type: string;
  imageId: string;
  keyName: string | undefined;
  state: InstanceStateName;
  market: 'spot' | 'on-demand';
  spotRequestId: string | undefined;
  clientToken: string | undefined;
  launchTime: Date;
  /** Eventual consistency: until then, calls naming this instance answer InvalidInstanceID.NotFound and lists omit it. */
  visibleAt?: number | undefined;
  privateIp: string;
  publicIp: string | undefined;
  /** DescribeInstances calls that must see this instance before it gets its public IP (Infinity: never). */
  ipAfterDescribes: number;
  subnetId: string;
  vpcId: string;
  groupIds: string[];
  tags: Map<string, string>;
  volume: { id: string; sizeGiB: number; type: string; encrypted: boolean; deleteOnTermination: boolean; tags: Map<string, string> };
  spotRequestTags: Map<string, string>;
  userData: string;
  metadataHttpTokens: string | undefined;
  shutdownBehavior: string | undefined;
}

export interface FakeKeyPair {
  id: string;
  name: string;
  publicKey: string;
  fingerprint: string;
  tags: Map<string, string>;
  createdAt: Date;
  /** Until then RunInstances and DescribeKeyPairs answer InvalidKeyPair.NotFound for it (unset: visible). */
  visibleAt?: number | undefined;
}

/** The fake stores rules in the same flattened shape the provider reads them in. */
export type FakeRule = IngressRule;

export interface FakeGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  ingress: FakeRule[];
  tags: Map<string, string>;
  /** Until then calls naming it answer InvalidGroup.NotFound and DescribeSecurityGroups omits it (unset: visible). */
  visibleAt?: number | undefined;
}

export interface FakeImage {
  id: string;
  name: string;
  ownerId: string;
  architecture: 'x86_64' | 'arm64';
  creationDate: string;
  state: 'available' | 'pending';
}

export interface FakeSubnet {
  id: string;
  vpcId: string;
  availabilityZone: string;
}

/** Everything in the fake account, in one place so tests can look. */
export interface FakeAccount {
  ownerId: string;
  defaultVpcId: string;
  instances: Map<string, FakeInstance>;
  keyPairs: Map<string, FakeKeyPair>;
  groups: Map<string, FakeGroup>;
  images: FakeImage[];
  subnets: FakeSubnet[];
  /** Successful RunInstances by client token: what was asked (to detect mismatches) and what it launched. */
  clientTokens: Map<string, { fingerprint: string; instanceIds: string[] }>;
  /** Current Spot price per type, USD/hour, for DescribeSpotPriceHistory. */
  spotPrices: Record<string, number>;
  /**
   * The Spot service-linked role (AWSServiceRoleForEC2Spot): `exists`, or `not-permitted` when the account has none
   * and the caller may not create it, so every Spot launch answers AuthFailure.ServiceLinkedRoleCreationNotPermitted.
   */
  spotRole: 'exists' | 'not-permitted';
  /** Types EC2 answers `Unsupported` for (optionally only in one market), as for a type not offered in the zone. */
  unsupported: { type: string; market?: 'spot' | 'on-demand' | undefined }[];
}

/** Is the resource visible to other calls yet (eventual consistency)? */
export function visible(resource: { visibleAt?: number | undefined }, now: number): boolean {
  return resource.visibleAt === undefined || now >= resource.visibleAt;
}

/** A fresh account: one default VPC and subnet, Canonical Ubuntu images for both architectures and a look-alike. */
export function newAccount(): FakeAccount {
  return {
    ownerId: '123456789012',
    defaultVpcId: 'vpc-0default0000000',
    instances: new Map(),
    keyPairs: new Map(),
    groups: new Map(),
    images: [
      { id: 'ami-0ubuntu0amd64old', name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101', ownerId: '099720109477', architecture: 'x86_64', creationDate: '2025-01-01T00:00:00.000Z', state: 'available' },
      { id: 'ami-0ubuntu0amd64new', name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260101', ownerId: '099720109477', architecture: 'x86_64', creationDate: '2026-01-01T00:00:00.000Z', state: 'available' },
      { id: 'ami-0ubuntu0arm64new', name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20260101', ownerId: '099720109477', architecture: 'arm64', creationDate: '2026-01-01T00:00:00.000Z', state: 'available' },
      // Same name pattern, newer, but not Canonical's: must never be chosen.
      { id: 'ami-0impostor0000000', name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20990101', ownerId: '666666666666', architecture: 'x86_64', creationDate: '2099-01-01T00:00:00.000Z', state: 'available' },
    ],
    subnets: [{ id: 'subnet-0default000000', vpcId: 'vpc-0default0000000', availabilityZone: 'us-east-1a' }],
    clientTokens: new Map(),
    spotPrices: { 'c7a.2xlarge': 0.1532, 'c7i.2xlarge': 0.1411, 'c6a.2xlarge': 0.1202, 'm7i.2xlarge': 0.1699, 't3.micro': 0.0035 },
    spotRole: 'exists',
    unsupported: [],
  };
}

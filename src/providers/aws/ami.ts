import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { CrabboxError } from '../../domain/errors.ts';
import { toCrabboxError } from './errors.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

/** Canonical's AWS account, the publisher of the official Ubuntu images. */
export const CANONICAL_OWNER = '099720109477';

export type Arch = 'x86_64' | 'arm64';

/** Graviton families carry a `g` right after the generation digit: c7g, m7gd, t4g, c8gn. */
export function archForType(instanceType: string): Arch {
  return /^[a-z]+\d+g[a-z-]*\./.test(instanceType) ? 'arm64' : 'x86_64';
}

/** The image-name pattern of Canonical's Ubuntu 24.04 LTS server images for an architecture. */
export function ubuntuNamePattern(arch: Arch): string {
  return `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch === 'arm64' ? 'arm64' : 'amd64'}-server-*`;
}

/** Finds the newest available Ubuntu LTS image from Canonical for the architecture. */
export async function findUbuntuAmi(deps: { ec2: EC2Client; retry: RetryPolicy }, arch: Arch): Promise<string> {
  const out = await withRetry(deps.retry, () =>
    deps.ec2.send(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER],
        Filters: [
          { Name: 'name', Values: [ubuntuNamePattern(arch)] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: [arch] },
        ],
      }),
    ),
  ).catch((error: unknown) => {
    throw toCrabboxError('DescribeImages', error);
  });
  const newest = (out.Images ?? [])
    .filter((i) => i.ImageId && i.OwnerId === CANONICAL_OWNER)
    .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  if (!newest?.ImageId) {
    throw new CrabboxError('invalid_config', `no Ubuntu 24.04 ${arch} image from Canonical found in this region`, { hint: 'set aws.ami in your user config' });
  }
  return newest.ImageId;
}

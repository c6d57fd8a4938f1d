import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { classifyEc2Error, toCrabboxError } from './errors.ts';
import { isWorldOpen, parseCidr } from '../../net/cidr.ts';
import { withPropagation, withRetry, type RetryPolicy } from './retry.ts';
import { canonicalCidr } from '../cidr.ts';

/** One ingress rule, flattened: a protocol, a port range and one CIDR. */
export interface IngressRule {
  protocol: string;
  fromPort: number | undefined;
  toPort: number | undefined;
  cidr: string;
  family: 4 | 6;
  description: string | undefined;
}

export interface SshGroupDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
}

/** The group, and when this call created it (undefined when it already existed): EC2 may not see it everywhere yet. */
export interface SshGroup {
  groupId: string;
  createdAt: number | undefined;
}

/** What EC2 answers for a group created moments ago that this call cannot see yet. */
const GROUP_NOT_FOUND = ['InvalidGroup.NotFound'];

export interface SshGroupSpec {
  name: string;
  vpcId?: string | undefined;
  /** Primary SSH port first, then fallbacks. */
  ports: number[];
  /** Caller CIDRs for this lease (already validated). */
  cidrs: string[];
  /** How many distinct caller CIDRs the group may hold; older ones beyond this are revoked. */
  maxCidrs: number;
  /** The group's description when this call creates it. */
  description?: string | undefined;
}

const DESCRIPTION_PREFIX = 'crabbox caller since ';

/** Flattens a group's ingress permissions into single-CIDR rules. Group-to-group and prefix-list rules are kept apart. */
export function flattenIngress(permissions: IpPermission[] | undefined): { rules: IngressRule[]; other: IpPermission[] } {
  const rules: IngressRule[] = [];
  const other: IpPermission[] = [];
  for (const p of permissions ?? []) {
    const base = { protocol: p.IpProtocol ?? '-1', fromPort: p.FromPort, toPort: p.ToPort };
    for (const r of p.IpRanges ?? []) if (r.CidrIp) rules.push({ ...base, cidr: canonicalCidr(r.CidrIp), family: 4, description: r.Description });
    for (const r of p.Ipv6Ranges ?? []) if (r.CidrIpv6) rules.push({ ...base, cidr: canonicalCidr(r.CidrIpv6), family: 6, description: r.Description });
    if ((p.UserIdGroupPairs?.length ?? 0) > 0 || (p.PrefixListIds?.length ?? 0) > 0) {
      other.push({ IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, UserIdGroupPairs: p.UserIdGroupPairs, PrefixListIds: p.PrefixListIds });
    }
  }
  return { rules, other };
}

function toPermission(rule: Pick<IngressRule, 'protocol' | 'fromPort' | 'toPort' | 'cidr' | 'family'>, description?: string): IpPermission {
  const range = rule.family === 4 ? { IpRanges: [{ CidrIp: rule.cidr, ...(description ? { Description: description } : {}) }] } : { Ipv6Ranges: [{ CidrIpv6: rule.cidr, ...(description ? { Description: description } : {}) }] };
  return { IpProtocol: rule.protocol, FromPort: rule.fromPort, ToPort: rule.toPort, ...range };
}

function addedAt(rule: IngressRule): number {
  const m = rule.description?.startsWith(DESCRIPTION_PREFIX) ? /^\d{1,12}$/.exec(rule.description.slice(DESCRIPTION_PREFIX.length)) : null;
  return m ? Number(m[0]) : 0;
}

export interface IngressPlan {
  revoke: IngressRule[];
  authorize: IngressRule[];
}

/**
 * Decides how to bring a group's ingress to "SSH ports only, from known CIDRs only" (pure, so it is tested directly):
 * revoke every world-open rule, every rule that is not exactly TCP on an SSH port, and the oldest caller CIDRs
 * beyond the cap; authorize the lease's CIDRs on every SSH port.
 */
export function planIngress(rules: IngressRule[], spec: Pick<SshGroupSpec, 'ports' | 'cidrs' | 'maxCidrs'>): IngressPlan {
  const isSsh = (r: IngressRule): boolean => r.protocol === 'tcp' && r.fromPort !== undefined && r.fromPort === r.toPort && spec.ports.includes(r.fromPort);
  const revoke = rules.filter((r) => isWorldOpen(r.cidr) || !isSsh(r));
  const kept = rules.filter((r) => !revoke.includes(r));
  const cidrs = [...new Set(spec.cidrs.map(canonicalCidr))];
  const wanted = new Set(cidrs);
  const authorize: IngressRule[] = [];
  for (const cidr of cidrs) {
    const { family } = parseCidr(cidr);
    for (const port of spec.ports) {
      if (!kept.some((r) => r.cidr === cidr && r.fromPort === port)) authorize.push({ protocol: 'tcp', fromPort: port, toPort: port, cidr, family, description: undefined });
    }
  }
  // Cap the distinct CIDRs: the lease's own always stay, the oldest others go first.
  const others = new Map<string, number>();
  for (const r of kept) if (!wanted.has(r.cidr)) others.set(r.cidr, Math.max(others.get(r.cidr) ?? 0, addedAt(r)));
  const room = Math.max(0, spec.maxCidrs - wanted.size);
  const byAge = [...others.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const evicted = new Set(byAge.slice(room).map(([cidr]) => cidr));
  for (const r of kept) if (evicted.has(r.cidr)) revoke.push(r);
  return { revoke, authorize };
}

async function findGroup(deps: SshGroupDeps, name: string, vpcId: string | undefined): Promise<SecurityGroup | undefined> {
  const filters = [{ Name: 'group-name', Values: [name] }, ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [])];
  const out = await withRetry(deps.retry, () => deps.ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))).catch((error: unknown) => {
    throw toCrabboxError('DescribeSecurityGroups', error);
  });
  return out.SecurityGroups?.find((g) => g.GroupName === name);
}

/**
 * Makes sure the shared Crabbox security group exists and admits SSH only from the lease's CIDRs (plus a bounded
 * number of recent callers), then returns its id. World-open rules are always removed, whoever added them.
 */
export async function ensureSshSecurityGroup(deps: SshGroupDeps, spec: SshGroupSpec): Promise<SshGroup> {
  let group = await findGroup(deps, spec.name, spec.vpcId);
  let createdAt: number | undefined;
  if (!group) {
    try {
      const created = await withRetry(deps.retry, () =>
        deps.ec2.send(
          new CreateSecurityGroupCommand({
            GroupName: spec.name,
            Description: spec.description ?? 'Crabbox runners: SSH from known callers only',
            ...(spec.vpcId ? { VpcId: spec.vpcId } : {}),
            TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'crabbox', Value: 'true' }] }],
          }),
        ),
      );
      group = { GroupId: created.GroupId, GroupName: spec.name, IpPermissions: [] };
      createdAt = deps.retry.clock.now();
    } catch (error) {
      if (classifyEc2Error(error) !== 'duplicate') throw toCrabboxError('CreateSecurityGroup', error);
      // Lost a creation race, or our own create's answer was lost: the group exists but listing may lag behind.
      createdAt = deps.retry.clock.now();
      for (let wait = 0; !group && deps.retry.clock.now() - createdAt < deps.retry.propagationMs; wait++) {
        group = await findGroup(deps, spec.name, spec.vpcId);
        if (!group) await deps.retry.clock.sleep(Math.min(500 * 2 ** wait, 10_000));
      }
    }
  }
  const groupId = group?.GroupId;
  if (!groupId) throw toCrabboxError('DescribeSecurityGroups', new Error(`security group ${spec.name} not found after create`));
  const { rules, other } = flattenIngress(group?.IpPermissions);
  const plan = planIngress(rules, spec);
  // A group made a moment ago may still answer InvalidGroup.NotFound: wait that out, never take it for gone.
  const call = <T>(fn: () => Promise<T>): Promise<T> => (createdAt === undefined ? withRetry(deps.retry, fn) : withPropagation(deps.retry, GROUP_NOT_FOUND, fn, { startedAt: createdAt }));
  // Revoke first: a world-open rule must never outlive this call, even if authorizing fails.
  const revokes = [...plan.revoke.map((r) => toPermission(r)), ...other];
  if (revokes.length > 0) {
    await call(() => deps.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revokes }))).catch((error: unknown) => {
      if (classifyEc2Error(error) !== 'not-found') throw toCrabboxError('RevokeSecurityGroupIngress', error);
    });
  }
  if (plan.authorize.length > 0) {
    const description = `${DESCRIPTION_PREFIX}${Math.floor(deps.retry.clock.now() / 1000)}`;
    try {
      await call(() => deps.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: plan.authorize.map((r) => toPermission(r, description)) })));
    } catch (error) {
      // A concurrent create added the same rule: one at a time so the others still land.
      if (classifyEc2Error(error) !== 'duplicate') throw toCrabboxError('AuthorizeSecurityGroupIngress', error);
      for (const rule of plan.authorize) {
        await call(() => deps.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [toPermission(rule, description)] }))).catch((e: unknown) => {
          if (classifyEc2Error(e) !== 'duplicate') throw toCrabboxError('AuthorizeSecurityGroupIngress', e);
        });
      }
    }
  }
  return { groupId, createdAt };
}

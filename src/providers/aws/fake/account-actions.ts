import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalCidr } from '../../cidr.ts';
import { q, type QueryValue } from './query.ts';
import { el, set, tagSet } from './xml.ts';
import { Ec2Fault, visible, type FakeGroup, type FakeRule } from './model.ts';
import type { ActionContext } from './instance-actions.ts';

function tagsFrom(ctx: ActionContext, resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of q.objs(ctx.params.TagSpecification)) {
    if (q.str(spec.ResourceType) !== resourceType) continue;
    for (const tag of q.objs(spec.Tag)) tags.set(q.str(tag.Key) ?? '', q.str(tag.Value) ?? '');
  }
  return tags;
}

// ---- key pairs ----

export function importKeyPair(ctx: ActionContext): string[] {
  const name = q.str(ctx.params.KeyName) ?? '';
  if (!name || name.length > 255) throw new Ec2Fault('InvalidParameterValue', 'Invalid key name');
  if (ctx.account.keyPairs.has(name)) throw new Ec2Fault('InvalidKeyPair.Duplicate', `The keypair already exists`);
  const publicKey = Buffer.from(q.str(ctx.params.PublicKeyMaterial) ?? '', 'base64').toString('utf8').trim();
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(publicKey)) throw new Ec2Fault('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
  const fingerprint = createHash('sha256').update(publicKey.split(' ')[1] ?? '').digest('base64').replace(/=+$/, '');
  const pair = { id: ctx.newId('key-', 17), name, publicKey, fingerprint, tags: tagsFrom(ctx, 'key-pair'), createdAt: new Date(ctx.now), visibleAt: ctx.now + ctx.propagationMs('keyPair') };
  ctx.account.keyPairs.set(name, pair);
  return [el('keyFingerprint', fingerprint), el('keyName', name), el('keyPairId', pair.id), tagSet(pair.tags)];
}

export function describeKeyPairs(ctx: ActionContext): string[] {
  const names = q.strings(ctx.params.KeyName);
  for (const n of names) {
    const pair = ctx.account.keyPairs.get(n);
    if (!pair || !visible(pair, ctx.now)) throw new Ec2Fault('InvalidKeyPair.NotFound', `The key pair '${n}' does not exist`);
  }
  const withKey = q.str(ctx.params.IncludePublicKey) === 'true';
  const filters = q.objs(ctx.params.Filter).map((f) => ({ name: q.str(f.Name) ?? '', values: q.strings(f.Value) }));
  const pairs = [...ctx.account.keyPairs.values()].filter(
    (k) =>
      visible(k, ctx.now) &&
      (names.length === 0 || names.includes(k.name)) &&
      filters.every((f) => {
        if (f.name.startsWith('tag:')) return f.values.includes(k.tags.get(f.name.slice(4)) ?? '\u0000');
        if (f.name === 'key-name') return f.values.includes(k.name);
        throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
      }),
  );
  return [
    set(
      'keySet',
      pairs.map((k) => [el('keyPairId', k.id), el('keyName', k.name), el('keyFingerprint', k.fingerprint), el('keyType', k.publicKey.startsWith('ssh-rsa') ? 'rsa' : 'ed25519'), el('createTime', k.createdAt.toISOString()), withKey ? el('publicKey', k.publicKey) : '', tagSet(k.tags)]),
    ),
  ];
}

/** Real EC2 answers DeleteKeyPair for a missing name with success; the fake does the same. */
export function deleteKeyPair(ctx: ActionContext): string[] {
  const name = q.str(ctx.params.KeyName) ?? '';
  const pair = ctx.account.keyPairs.get(name);
  ctx.account.keyPairs.delete(name);
  return [el('return', true), el('keyPairId', pair?.id)];
}

// ---- security groups ----

function ruleXml(rules: FakeRule[], name = 'ipPermissions'): string {
  const groups = new Map<string, FakeRule[]>();
  for (const r of rules) {
    const key = `${r.protocol}/${r.fromPort}/${r.toPort}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return set(
    name,
    [...groups.values()].map((list) => [
      el('ipProtocol', list[0]!.protocol),
      list[0]!.fromPort === undefined ? '' : el('fromPort', list[0]!.fromPort),
      list[0]!.toPort === undefined ? '' : el('toPort', list[0]!.toPort),
      set('groups', []),
      set('ipRanges', list.filter((r) => r.family === 4).map((r) => [el('cidrIp', r.cidr), el('description', r.description)])),
      set('ipv6Ranges', list.filter((r) => r.family === 6).map((r) => [el('cidrIpv6', r.cidr), el('description', r.description)])),
      set('prefixListIds', []),
    ]),
  );
}

function groupXml(g: FakeGroup, ownerId: string): string[] {
  return [
    el('ownerId', ownerId),
    el('groupId', g.id),
    el('groupName', g.name),
    el('groupDescription', g.description),
    el('vpcId', g.vpcId),
    ruleXml(g.ingress),
    set('ipPermissionsEgress', [[el('ipProtocol', '-1'), set('groups', []), set('ipRanges', [[el('cidrIp', '0.0.0.0/0')]]), set('ipv6Ranges', []), set('prefixListIds', [])]]),
    tagSet(g.tags),
  ];
}

export function createSecurityGroup(ctx: ActionContext): string[] {
  const name = q.str(ctx.params.GroupName) ?? '';
  const description = q.str(ctx.params.GroupDescription) ?? '';
  if (!name || !description) throw new Ec2Fault('MissingParameter', 'GroupName and GroupDescription are required');
  const vpcId = q.str(ctx.params.VpcId) ?? ctx.account.defaultVpcId;
  if ([...ctx.account.groups.values()].some((g) => g.name === name && g.vpcId === vpcId)) throw new Ec2Fault('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`);
  const group: FakeGroup = { id: ctx.newId('sg-', 17), name, description, vpcId, ingress: [], tags: tagsFrom(ctx, 'security-group'), visibleAt: ctx.now + ctx.propagationMs('group') };
  ctx.account.groups.set(group.id, group);
  return [el('return', true), el('groupId', group.id), tagSet(group.tags)];
}

export function describeSecurityGroups(ctx: ActionContext): string[] {
  const ids = q.strings(ctx.params.GroupId);
  for (const id of ids) {
    const g = ctx.account.groups.get(id);
    if (!g || !visible(g, ctx.now)) throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
  }
  const filters = q.objs(ctx.params.Filter).map((f) => ({ name: q.str(f.Name) ?? '', values: q.strings(f.Value) }));
  const groups = [...ctx.account.groups.values()].filter(
    (g) =>
      visible(g, ctx.now) &&
      (ids.length === 0 || ids.includes(g.id)) &&
      filters.every((f) => {
        if (f.name === 'group-name') return f.values.includes(g.name);
        if (f.name === 'vpc-id') return f.values.includes(g.vpcId);
        if (f.name === 'group-id') return f.values.includes(g.id);
        throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
      }),
  );
  return [set('securityGroupInfo', groups.map((g) => groupXml(g, ctx.account.ownerId)))];
}

function rulesFrom(value: QueryValue | undefined): FakeRule[] {
  const rules: FakeRule[] = [];
  for (const p of q.objs(value)) {
    const protocol = q.str(p.IpProtocol) ?? '';
    const fromPort = q.str(p.FromPort) === undefined ? undefined : Number(q.str(p.FromPort));
    const toPort = q.str(p.ToPort) === undefined ? undefined : Number(q.str(p.ToPort));
    if (!['tcp', 'udp', 'icmp', '-1', '6', '17'].includes(protocol)) throw new Ec2Fault('InvalidParameterValue', `Invalid IP protocol ${protocol}`);
    for (const r of q.objs(p.IpRanges)) rules.push({ protocol, fromPort, toPort, cidr: q.str(r.CidrIp) ?? '', family: 4, description: q.str(r.Description) });
    for (const r of q.objs(p.Ipv6Ranges)) rules.push({ protocol, fromPort, toPort, cidr: q.str(r.CidrIpv6) ?? '', family: 6, description: q.str(r.Description) });
  }
  for (const r of rules) {
    const [addr = '', bits = ''] = r.cidr.split('/');
    const ok = /^\d{1,3}$/.test(bits) && (r.family === 4 ? isIPv4(addr) && Number(bits) <= 32 : isIPv6(addr) && Number(bits) <= 128);
    if (!ok) throw new Ec2Fault('InvalidParameterValue', `CIDR block ${r.cidr} is malformed`);
    // EC2 stores (and answers with) the network address: 203.0.113.7/24 becomes 203.0.113.0/24.
    r.cidr = canonicalCidr(r.cidr);
  }
  return rules;
}

const same = (a: FakeRule, b: FakeRule): boolean => a.protocol === b.protocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidr === b.cidr;

function group(ctx: ActionContext): FakeGroup {
  const id = q.str(ctx.params.GroupId) ?? '';
  const g = ctx.account.groups.get(id);
  if (!g || !visible(g, ctx.now)) throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
  return g;
}

export function authorizeIngress(ctx: ActionContext): string[] {
  const g = group(ctx);
  const rules = rulesFrom(ctx.params.IpPermissions);
  const dup = rules.find((r) => g.ingress.some((e) => same(e, r)));
  if (dup) throw new Ec2Fault('InvalidPermission.Duplicate', `the specified rule "peer: ${dup.cidr}, TCP, from port: ${dup.fromPort}, to port: ${dup.toPort}, ALLOW" already exists`);
  g.ingress.push(...rules);
  return [el('return', true), set('securityGroupRuleSet', rules.map((r) => [el('securityGroupRuleId', ctx.newId('sgr-', 17)), el('groupId', g.id), el('isEgress', false), el('ipProtocol', r.protocol), el('fromPort', r.fromPort), el('toPort', r.toPort), r.family === 4 ? el('cidrIpv4', r.cidr) : el('cidrIpv6', r.cidr), el('description', r.description)]))];
}

export function revokeIngress(ctx: ActionContext): string[] {
  const g = group(ctx);
  const rules = rulesFrom(ctx.params.IpPermissions);
  const unknown = rules.filter((r) => !g.ingress.some((e) => same(e, r)));
  g.ingress = g.ingress.filter((e) => !rules.some((r) => same(e, r)));
  return [el('return', unknown.length === 0), unknown.length > 0 ? ruleXml(unknown, 'unknownIpPermissionSet') : ''];
}

// ---- images, prices, subnets ----

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export function describeImages(ctx: ActionContext): string[] {
  const owners = q.strings(ctx.params.Owner);
  const filters = q.objs(ctx.params.Filter).map((f) => ({ name: q.str(f.Name) ?? '', values: q.strings(f.Value) }));
  const images = ctx.account.images.filter(
    (i) =>
      (owners.length === 0 || owners.includes(i.ownerId)) &&
      filters.every((f) => {
        const field = f.name === 'name' ? i.name : f.name === 'state' ? i.state : f.name === 'architecture' ? i.architecture : f.name === 'image-id' ? i.id : undefined;
        if (field === undefined) throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
        return f.values.some((v) => wildcard(v).test(field));
      }),
  );
  return [set('imagesSet', images.map((i) => [el('imageId', i.id), el('imageLocation', `${i.ownerId}/${i.name}`), el('imageState', i.state), el('imageOwnerId', i.ownerId), el('creationDate', i.creationDate), el('isPublic', true), el('architecture', i.architecture), el('imageType', 'machine'), el('name', i.name), el('rootDeviceType', 'ebs'), el('rootDeviceName', '/dev/sda1'), el('virtualizationType', 'hvm')]))];
}

export function describeSpotPriceHistory(ctx: ActionContext): string[] {
  const types = q.strings(ctx.params.InstanceType);
  const now = new Date(ctx.now);
  const items: string[][] = [];
  for (const type of types) {
    const price = ctx.account.spotPrices[type];
    if (price === undefined) continue;
    for (const [zone, factor] of [['us-east-1a', 1], ['us-east-1b', 1.1]] as const) {
      items.push([el('instanceType', type), el('productDescription', 'Linux/UNIX'), el('spotPrice', (price * factor).toFixed(6)), el('timestamp', now.toISOString()), el('availabilityZone', zone)]);
    }
  }
  return [set('spotPriceHistorySet', items), el('nextToken', '')];
}

export function describeSubnets(ctx: ActionContext): string[] {
  const ids = q.strings(ctx.params.SubnetId);
  for (const id of ids) if (!ctx.account.subnets.some((s) => s.id === id)) throw new Ec2Fault('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
  const subnets = ctx.account.subnets.filter((s) => ids.length === 0 || ids.includes(s.id));
  return [set('subnetSet', subnets.map((s) => [el('subnetId', s.id), el('state', 'available'), el('vpcId', s.vpcId), el('cidrBlock', '172.31.0.0/20'), el('availabilityZone', s.availabilityZone), el('defaultForAz', true), el('mapPublicIpOnLaunch', true)]))];
}

import { q, type QueryParams } from './query.ts';
import { el, set, tagSet } from './xml.ts';
import { Ec2Fault, STATE_CODES, visible, type FakeAccount, type FakeInstance } from './model.ts';

export interface ActionContext {
  account: FakeAccount;
  params: QueryParams;
  newId: (prefix: string, hexDigits?: number) => string;
  /** Default number of DescribeInstances observations before a new instance gets its public IP. */
  ipAfterDescribes: number;
  /** DescribeInstances page size when the request does not ask for less. */
  pageSize: number;
  /** The fake's clock, read once per request. */
  now: number;
  /** How long a resource made by this request stays invisible to other calls (eventual consistency). */
  propagationMs: (kind: 'instance' | 'keyPair' | 'group') => number;
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const INSTANCE_ID = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

function tagsOf(ctx: ActionContext, resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of q.objs(ctx.params.TagSpecification)) {
    if (q.str(spec.ResourceType) !== resourceType) continue;
    for (const tag of q.objs(spec.Tag)) {
      const key = q.str(tag.Key);
      if (!key) throw new Ec2Fault('InvalidParameterValue', 'Tag key must not be empty');
      if (key.length > 128 || (q.str(tag.Value) ?? '').length > 256) throw new Ec2Fault('InvalidParameterValue', `Tag ${key} is too long`);
      tags.set(key, q.str(tag.Value) ?? '');
    }
  }
  return tags;
}

function instanceXml(i: FakeInstance): string[] {
  return [
    el('instanceId', i.id),
    el('imageId', i.imageId),
    el('instanceState', [el('code', STATE_CODES[i.state]), el('name', i.state)]),
    el('privateDnsName', `ip-${i.privateIp.replace(/\./g, '-')}.ec2.internal`),
    el('dnsName', i.publicIp ? `ec2-${i.publicIp.replace(/\./g, '-')}.compute-1.amazonaws.com` : ''),
    el('reason', i.state === 'terminated' ? 'User initiated' : ''),
    el('keyName', i.keyName),
    el('amiLaunchIndex', 0),
    el('instanceType', i.type),
    el('launchTime', i.launchTime.toISOString()),
    el('placement', [el('availabilityZone', 'us-east-1a'), el('tenancy', 'default')]),
    el('subnetId', i.subnetId),
    el('vpcId', i.vpcId),
    el('privateIpAddress', i.privateIp),
    el('ipAddress', i.publicIp),
    set('groupSet', i.groupIds.map((g) => [el('groupId', g)])),
    el('architecture', i.type.match(/^[a-z]+\d+g/) ? 'arm64' : 'x86_64'),
    el('rootDeviceType', 'ebs'),
    el('rootDeviceName', '/dev/sda1'),
    set('blockDeviceMapping', [[el('deviceName', '/dev/sda1'), el('ebs', [el('volumeId', i.volume.id), el('status', 'attached'), el('deleteOnTermination', i.volume.deleteOnTermination)])]]),
    el('instanceLifecycle', i.market === 'spot' ? 'spot' : undefined),
    el('spotInstanceRequestId', i.spotRequestId),
    el('clientToken', i.clientToken ?? ''),
    tagSet(i.tags),
    el('stateReason', i.state === 'terminated' ? [el('code', 'Client.UserInitiatedShutdown'), el('message', 'Client.UserInitiatedShutdown: User initiated shutdown')] : undefined),
    el('metadataOptions', [el('state', 'applied'), el('httpTokens', i.metadataHttpTokens ?? 'optional')]),
  ];
}

function reservationsXml(ctx: ActionContext, instances: FakeInstance[]): string {
  const byReservation = new Map<string, FakeInstance[]>();
  for (const i of instances) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
  return set(
    'reservationSet',
    [...byReservation].map(([rid, list]) => [el('reservationId', rid), el('ownerId', ctx.account.ownerId), set('groupSet', []), set('instancesSet', list.map(instanceXml))]),
  );
}

export function runInstances(ctx: ActionContext): string[] {
  const p = ctx.params;
  const type = q.str(p.InstanceType) ?? 'm1.small';
  if (!INSTANCE_TYPE.test(type)) throw new Ec2Fault('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`);
  if (q.str(p.MinCount) !== '1' || q.str(p.MaxCount) !== '1') throw new Ec2Fault('InvalidParameterValue', 'this fake launches exactly one instance per request');
  const imageId = q.str(p.ImageId) ?? '';
  if (!ctx.account.images.some((i) => i.id === imageId)) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  const keyName = q.str(p.KeyName);
  const nic = q.objs(p.NetworkInterface)[0];
  const groupIds = nic ? q.strings(nic.SecurityGroupId) : q.strings(p.SecurityGroupId);
  const market = q.str(q.obj(p.InstanceMarketOptions).MarketType) === 'spot' ? 'spot' : 'on-demand';
  const token = q.str(p.ClientToken);
  const fingerprint = JSON.stringify([type, imageId, market, keyName, groupIds]);
  // Idempotency first: a request repeating an earlier successful one answers with what that one launched.
  if (token) {
    if (token.length > 64) throw new Ec2Fault('InvalidParameterValue', 'ClientToken is longer than 64 characters');
    const earlier = ctx.account.clientTokens.get(token);
    if (earlier && earlier.fingerprint !== fingerprint) throw new Ec2Fault('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
    if (earlier) {
      const instances = earlier.instanceIds.map((id) => ctx.account.instances.get(id)!).filter(Boolean);
      return [el('reservationId', instances[0]!.reservationId), el('ownerId', ctx.account.ownerId), set('groupSet', []), set('instancesSet', instances.map(instanceXml))];
    }
  }
  const pair = keyName ? ctx.account.keyPairs.get(keyName) : undefined;
  if (keyName && (!pair || !visible(pair, ctx.now))) throw new Ec2Fault('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
  for (const g of groupIds) {
    const group = ctx.account.groups.get(g);
    if (!group || !visible(group, ctx.now)) throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${g}' does not exist in default VPC '${ctx.account.defaultVpcId}'`);
  }
  const subnetId = (nic && q.str(nic.SubnetId)) ?? q.str(p.SubnetId) ?? ctx.account.subnets[0]!.id;
  const subnet = ctx.account.subnets.find((s) => s.id === subnetId);
  if (!subnet) throw new Ec2Fault('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  const spotType = q.str(q.obj(q.obj(p.InstanceMarketOptions).SpotOptions).SpotInstanceType);
  if (market === 'spot' && spotType !== undefined && spotType !== 'one-time' && spotType !== 'persistent') throw new Ec2Fault('InvalidParameterValue', `Invalid SpotInstanceType ${spotType}`);
  if (ctx.account.unsupported.some((u) => u.type === type && (u.market === undefined || u.market === market))) {
    throw new Ec2Fault('Unsupported', `Your requested instance type (${type}) is not supported in your requested Availability Zone (us-east-1a). Please retry your request by not specifying an Availability Zone or choosing us-east-1b, us-east-1c.`);
  }
  if (market === 'spot' && ctx.account.spotRole === 'not-permitted') {
    throw new Ec2Fault('AuthFailure.ServiceLinkedRoleCreationNotPermitted', 'The provided credentials do not have permission to create the service-linked role for EC2 Spot Instances.', 403);
  }
  const bdm = q.objs(p.BlockDeviceMapping)[0];
  const ebs = q.obj(bdm?.Ebs);
  const n = ctx.account.instances.size + 1;
  const instance: FakeInstance = {
    id: ctx.newId('i-', 17),
    reservationId: ctx.newId('r-', 17),
    type,
    imageId,
    keyName,
    state: 'pending',
    market,
    spotRequestId: market === 'spot' ? ctx.newId('sir-', 8) : undefined,
    clientToken: token,
    launchTime: new Date(ctx.now),
    visibleAt: ctx.now + ctx.propagationMs('instance'),
    privateIp: `172.31.${(n >> 8) & 255}.${n & 255}`,
    publicIp: undefined,
    ipAfterDescribes: ctx.ipAfterDescribes,
    subnetId,
    vpcId: subnet.vpcId,
    groupIds,
    tags: tagsOf(ctx, 'instance'),
    volume: {
      id: ctx.newId('vol-', 17),
      sizeGiB: Number(q.str(ebs.VolumeSize) ?? 8),
      type: q.str(ebs.VolumeType) ?? 'gp2',
      encrypted: q.str(ebs.Encrypted) === 'true',
      deleteOnTermination: q.str(ebs.DeleteOnTermination) !== 'false',
      tags: tagsOf(ctx, 'volume'),
    },
    spotRequestTags: tagsOf(ctx, 'spot-instances-request'),
    userData: Buffer.from(q.str(p.UserData) ?? '', 'base64').toString('utf8'),
    metadataHttpTokens: q.str(q.obj(p.MetadataOptions).HttpTokens),
    shutdownBehavior: q.str(p.InstanceInitiatedShutdownBehavior),
  };
  ctx.account.instances.set(instance.id, instance);
  if (token) ctx.account.clientTokens.set(token, { fingerprint, instanceIds: [instance.id] });
  return [el('reservationId', instance.reservationId), el('ownerId', ctx.account.ownerId), set('groupSet', []), set('instancesSet', [instanceXml(instance)])];
}

/** Time passes for an instance each time someone looks at it: pending boots, shutting-down finishes. */
function observe(i: FakeInstance, publicIp: () => string): void {
  if (i.state === 'shutting-down') i.state = 'terminated';
  if (i.state === 'pending') i.state = 'running';
  if (i.state === 'running' && !i.publicIp) {
    if (i.ipAfterDescribes <= 1) i.publicIp = publicIp();
    else i.ipAfterDescribes--;
  }
}

function matchesFilter(i: FakeInstance, name: string, values: string[]): boolean {
  if (name.startsWith('tag:')) return values.includes(i.tags.get(name.slice(4)) ?? '\u0000');
  if (name === 'tag-key') return values.some((v) => i.tags.has(v));
  if (name === 'instance-state-name') return values.includes(i.state);
  if (name === 'client-token') return values.includes(i.clientToken ?? '\u0000');
  if (name === 'instance-id') return values.includes(i.id);
  if (name === 'instance-type') return values.includes(i.type);
  throw new Ec2Fault('InvalidParameterValue', `The filter '${name}' is invalid`);
}

/** The instance a call names, as EC2 sees it: not yet visible right after launch counts as unknown. */
function known(ctx: ActionContext, id: string): FakeInstance {
  const i = ctx.account.instances.get(id);
  if (!i || !visible(i, ctx.now)) throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return i;
}

export function describeInstances(ctx: ActionContext, publicIp: () => string): string[] {
  const ids = q.strings(ctx.params.InstanceId);
  for (const id of ids) {
    if (!INSTANCE_ID.test(id)) throw new Ec2Fault('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    known(ctx, id);
  }
  const filters = q.objs(ctx.params.Filter).map((f) => ({ name: q.str(f.Name) ?? '', values: q.strings(f.Value) }));
  let all = [...ctx.account.instances.values()].filter((i) => visible(i, ctx.now) && (ids.length === 0 || ids.includes(i.id)));
  for (const i of all) observe(i, publicIp);
  all = all.filter((i) => filters.every((f) => matchesFilter(i, f.name, f.values)));
  const max = Math.min(Number(q.str(ctx.params.MaxResults) ?? ctx.pageSize), ctx.pageSize);
  const start = Number(q.str(ctx.params.NextToken) ? Buffer.from(q.str(ctx.params.NextToken)!, 'base64url').toString() : 0);
  if (!Number.isInteger(start) || start < 0) throw new Ec2Fault('InvalidParameterValue', 'Invalid NextToken');
  const page = all.slice(start, start + max);
  const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return [reservationsXml(ctx, page), next ? `<nextToken>${next}</nextToken>` : ''];
}

export function terminateInstances(ctx: ActionContext): string[] {
  const ids = q.strings(ctx.params.InstanceId);
  for (const id of ids) known(ctx, id);
  const items = ids.map((id) => {
    const i = ctx.account.instances.get(id)!;
    const previous = i.state;
    if (i.state !== 'terminated') i.state = 'shutting-down';
    return [el('instanceId', id), el('currentState', [el('code', STATE_CODES[i.state]), el('name', i.state)]), el('previousState', [el('code', STATE_CODES[previous]), el('name', previous)])];
  });
  return [set('instancesSet', items)];
}

function taggable(ctx: ActionContext): FakeInstance[] {
  return q.strings(ctx.params.ResourceId).map((id) => known(ctx, id));
}

export function createTags(ctx: ActionContext): string[] {
  const tags = q.objs(ctx.params.Tag).map((t) => [q.str(t.Key) ?? '', q.str(t.Value) ?? ''] as const);
  for (const [k] of tags) if (!k || k.length > 128) throw new Ec2Fault('InvalidParameterValue', 'Invalid tag key');
  for (const i of taggable(ctx)) for (const [k, v] of tags) i.tags.set(k, v);
  return [el('return', true)];
}

export function deleteTags(ctx: ActionContext): string[] {
  const keys = q.objs(ctx.params.Tag).map((t) => q.str(t.Key) ?? '');
  for (const i of taggable(ctx)) for (const k of keys) i.tags.delete(k);
  return [el('return', true)];
}

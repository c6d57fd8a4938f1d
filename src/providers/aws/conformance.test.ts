import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { baseSpec } from '../provider.contract.ts';
import { conformance, parseEc2Xml, type Shapes, type TypeRef } from '../fake/conformance.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import type { QueryParams } from './fake/query.ts';

interface Ec2Model {
  errors: string[];
  actions: Record<string, { input: string; output: string | null }>;
  input: Shapes;
  output: Shapes;
}

const model = JSON.parse(readFileSync(new URL('./fixtures/ec2-model.json', import.meta.url), 'utf8')) as Ec2Model;
const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvbmZvcm1hbmNl user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string) => ({ ...baseSpec(leaseId, keys), allowedCidrs: ['203.0.113.7/32', '2001:db8::/48'] });

/** A request's parameters against the action's input shape (Action and Version are the protocol's own). */
function checkRequest(action: string, params: QueryParams): string[] {
  const entry = model.actions[action];
  if (!entry) return [`${action}: not an action in the fixture`];
  const { Action: _a, Version: _v, ...rest } = params;
  return conformance(rest, entry.input, model.input, action);
}

/** An answer's XML against the action's output shape, or EC2's error document against the documented codes. */
function checkResponse(action: string, status: number, body: string): string[] {
  const { root, value } = parseEc2Xml(body);
  if (status >= 400) {
    const error = (value.Errors as { Error?: { Code?: unknown } } | undefined)?.Error;
    if (root !== 'Response' || !error || typeof value.RequestID !== 'string') return [`${action}: error document is not <Response><Errors><Error/></Errors><RequestID/></Response>`];
    const code = String(error.Code ?? '');
    return model.errors.includes(code) ? [] : [`${action}: error code ${code} is not one EC2 documents`];
  }
  if (root !== `${action}Response`) return [`${action}: root element <${root}>`];
  // requestId, and `return` (the API Reference's sample responses carry <return>true</return> on actions that change
  // something, outside the modelled output), are the protocol's own.
  const { requestId, return: _ret, ...rest } = value;
  if (typeof requestId !== 'string' || !requestId) return [`${action}: no requestId`];
  const output = model.actions[action]?.output;
  const type: TypeRef = output ?? 'NoOutput';
  return conformance(rest, type, { ...model.output, NoOutput: {} }, action);
}

describe('aws conformance with the published EC2 model', () => {
  let setup: FakeAwsSetup;
  before(async () => {
    // Everything the provider does, including its error paths, against the realistic fake.
    setup = await startFakeAws({ subnetId: 'subnet-0default000000', fake: { pageSize: 1 } });
    const { provider, fake } = setup;
    fake.noCapacity('c7a.2xlarge', 'spot');
    fake.unsupported('c7i.2xlarge', 'spot');
    const a = await provider.create(spec('cbx_0000000c0f01'));
    const b = await provider.create(spec('cbx_0000000c0f02'));
    await provider.list({ crabbox: 'true' });
    await provider.get(a.providerId);
    const { 'crabbox-keep': _keep, ...withoutKeep } = a.labels;
    await provider.setLabels(a.providerId, { ...withoutKeep, 'crabbox-state': 'released' });
    await provider.hourlyPrice('c7a.2xlarge');
    await provider.delete(a.providerId);
    await provider.delete(b.providerId);
    await provider.delete('i-0123456789abcdef0');
    await provider.sweepDangling({ installation: 'contract', minAgeMs: 0 });
    fake.fail({ action: 'DescribeInstances', code: 'RequestLimitExceeded' });
    await provider.list({ crabbox: 'true' });
  });
  after(() => setup.stop());

  it('every request the client sent names only parameters of the action\'s published input', () => {
    assert.ok(setup.fake.requests.length > 30);
    const actions = new Set(setup.fake.requests.map((r) => r.action));
    for (const a of ['RunInstances', 'DescribeInstances', 'TerminateInstances', 'CreateTags', 'DeleteTags', 'ImportKeyPair', 'DescribeKeyPairs', 'DeleteKeyPair', 'CreateSecurityGroup', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress', 'DescribeImages', 'DescribeSpotPriceHistory', 'DescribeSubnets']) {
      assert.ok(actions.has(a), `the workload exercised ${a}`);
    }
    const problems = setup.fake.requests.flatMap((r) => checkRequest(r.action, r.params));
    assert.deepEqual(problems, []);
  });

  it('every answer the fake gave has only elements of the action\'s published output, or a documented error code', () => {
    assert.ok(setup.fake.responses.some((r) => r.status >= 400), 'error answers were exercised too');
    const problems = setup.fake.responses.flatMap((r) => checkResponse(r.action, r.status, r.body));
    assert.deepEqual(problems, []);
  });

  it('the check itself catches drift: an element the model does not have, a missing list, an undocumented code', () => {
    const drifted = '<?xml version="1.0"?>\n<DescribeInstancesResponse xmlns="x"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><datacenter>fsn1</datacenter></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';
    assert.deepEqual(checkResponse('DescribeInstances', 200, drifted), ['DescribeInstances.reservationSet[0].instancesSet[0].datacenter: not a field of Instance in the published model']);
    assert.match(checkRequest('RunInstances', { InstanceType: 't3.micro', SecurityGroupIds: ['sg-1'] }).join(), /SecurityGroupIds: not a field of RunInstancesRequest/);
    assert.match(checkResponse('RunInstances', 400, '<Response><Errors><Error><Code>NoCapacity</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>').join(), /NoCapacity is not one EC2 documents/);
  });
});

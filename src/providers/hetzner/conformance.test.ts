import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { baseSpec } from '../provider.contract.ts';
import { conformance, type Shapes } from '../fake/conformance.ts';
import { LABEL } from '../../domain/labels.ts';
import { newLeaseId } from '../../domain/ids.ts';
import type { MachineSpec } from '../provider.ts';
import type { HServer } from './api.ts';
import { startFakeHetznerProvider, type FakeHetznerSetup } from './fake/harness.ts';
import { generateKeyPair } from './fake/keys.ts';
import { HetznerProvider } from './provider.ts';
import { HetznerClient } from './client.ts';

interface HcloudModel {
  errorCodes: string[];
  routes: Record<string, { query?: string[]; request?: string; response?: string }>;
  shapes: Shapes;
}

const model = JSON.parse(readFileSync(new URL('./fixtures/hcloud-schema.json', import.meta.url), 'utf8')) as HcloudModel;
const spec = (extra: Partial<MachineSpec> = {}): MachineSpec => ({ ...baseSpec(newLeaseId(), { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') }), ...extra });
const routeOf = (method: string, path: string) => `${method} ${path.split('?')[0]!.replace(/\/\d+/g, '/:id')}`;

function checkRequest(r: { method: string; path: string; body?: unknown }): string[] {
  const route = routeOf(r.method, r.path);
  const entry = model.routes[route];
  if (!entry) return [`${route}: not a route the fixture knows`];
  const query = new URL(`http://x${r.path}`).searchParams;
  const problems = [...query.keys()].filter((k) => !(entry.query ?? []).includes(k)).map((k) => `${route}: query parameter ${k} is not one the API lists`);
  if (r.body !== undefined) problems.push(...(entry.request ? conformance(r.body, entry.request, model.shapes, route) : [`${route}: sends a body the API does not take`]));
  return problems;
}

function checkResponse(r: { route: string; status: number; body: unknown }): string[] {
  const entry = model.routes[r.route];
  if (!entry) return [`${r.route}: not a route the fixture knows`];
  if (r.status >= 400) {
    const problems = conformance(r.body, 'ErrorResponse', model.shapes, r.route, { complete: true });
    const code = (r.body as { error?: { code?: string } }).error?.code ?? '';
    return [...problems, ...(model.errorCodes.includes(code) ? [] : [`${r.route}: error code ${code} is not one hcloud-go knows`])];
  }
  if (r.status === 204) return r.body === undefined ? [] : [`${r.route}: 204 with a body`];
  return entry.response ? conformance(r.body, entry.response, model.shapes, r.route, { complete: true }) : [`${r.route}: answers a body the API does not send`];
}

describe('hetzner conformance with the published hcloud schema', () => {
  let setup: FakeHetznerSetup;
  before(async () => {
    // Everything the provider does, including its retries and error paths, against the realistic fake.
    setup = await startFakeHetznerProvider({ locations: ['fsn1', 'nbg1'] });
    const { provider, fake } = setup;
    fake.state.faults.capacityTypes.add('ccx33');
    fake.state.faults.unsupported.add('cpx62@fsn1');
    fake.state.failNext({ method: 'POST', pathPrefix: '/firewalls', status: 503, code: 'service_error', afterApply: true });
    const a = await provider.create(spec({ class: 'standard', allowedCidrs: ['198.51.100.7'] }));
    fake.state.faults.capacityTypes.clear();
    fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status: 503, code: 'service_error', afterApply: true });
    const b = await provider.create(spec());
    await provider.list({ [LABEL.marker]: 'true' });
    await provider.get(a.providerId);
    await provider.setLabels(a.providerId, { ...a.labels, [LABEL.state]: 'released' });
    await provider.hourlyPrice('ccx43');
    await provider.delete(a.providerId);
    await provider.delete(b.providerId);
    await provider.delete('424242');
    await provider.sweepDangling({ installation: 'contract', minAgeMs: 0 });
    await new HetznerProvider({ client: new HetznerClient({ token: 'wrong-token-0123', baseUrl: fake.url, clock: setup.clock }), clock: setup.clock }).list({}).catch(() => undefined);
  });
  after(() => setup.close());

  it('every request the client sent uses only routes, query parameters and body fields of the published API', () => {
    const routes = new Set(setup.fake.state.requests.map((r) => routeOf(r.method, r.path)));
    for (const route of ['POST /servers', 'GET /servers', 'GET /servers/:id', 'PUT /servers/:id', 'DELETE /servers/:id', 'GET /servers/:id/actions', 'GET /actions/:id', 'POST /ssh_keys', 'GET /ssh_keys', 'DELETE /ssh_keys/:id', 'POST /firewalls', 'GET /firewalls', 'POST /firewalls/:id/actions/set_rules', 'DELETE /firewalls/:id', 'GET /server_types']) {
      assert.ok(routes.has(route), `the workload exercised ${route}`);
    }
    assert.deepEqual(setup.fake.state.requests.flatMap(checkRequest), []);
  });

  it('every answer the fake gave has exactly the published fields (all of them), or the published error shape and a known code', () => {
    assert.ok(setup.fake.state.responses.some((r) => r.status >= 400), 'error answers were exercised too');
    assert.deepEqual(setup.fake.state.responses.flatMap(checkResponse), []);
  });

  it('the check itself catches drift like the removed `datacenter`, a missing field and an unknown code', () => {
    const answer = setup.fake.state.responses.find((r) => r.route === 'GET /servers/:id' && r.status === 200)!;
    const server = structuredClone((answer.body as { server: HServer & Record<string, unknown> }).server);
    server.datacenter = { name: 'fsn1-dc14', location: { name: 'fsn1' } };
    assert.deepEqual(checkResponse({ ...answer, body: { server } }), ['GET /servers/:id.server.datacenter: not a field of Server in the published model']);
    const { location: _gone, ...withoutLocation } = server;
    assert.ok(checkResponse({ ...answer, body: { server: withoutLocation } }).includes('GET /servers/:id.server.location: missing (the API always sends it)'));
    assert.match(checkResponse({ route: 'POST /servers', status: 412, body: { error: { code: 'no_capacity', message: 'm', details: null } } }).join(), /no_capacity is not one hcloud-go knows/);
    assert.match(checkRequest({ method: 'POST', path: '/servers', body: { name: 'x', server_type: 'cx53', image: 'u', datacenter: 'fsn1-dc14' } }).join(), /datacenter: not a field of ServerCreateRequest/);
  });
});

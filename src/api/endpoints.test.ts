import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { harness, type Harness } from '../coordinator/testkit.ts';
import { CoordinatorClient } from './client.ts';
import { ENDPOINTS, pathOf } from './endpoints.ts';

const SRC = fileURLToPath(new URL('../', import.meta.url));

/** Routes the coordinator serves that are not JSON API calls of the contract: health probes and the login pages. */
const NOT_CONTRACT = new Set(['GET /v1/ready', 'GET /v1/ready/detail', 'GET /v1/login/authorize', 'POST /v1/login/authorize', 'POST /v1/login/confirm', 'GET /v1/login/callback']);

describe('the wire contract (src/api/endpoints.ts)', () => {
  let h: Harness | undefined;
  after(() => h?.close());

  it('builds paths from the templates: parameters encoded, undefined query values left out', () => {
    assert.equal(pathOf(ENDPOINTS.heartbeat, { params: { ref: 'blue-lobster' } }), '/v1/leases/blue-lobster/heartbeat');
    assert.equal(pathOf(ENDPOINTS.getLease, { params: { ref: 'a/b?c' } }), '/v1/leases/a%2Fb%3Fc');
    assert.equal(pathOf(ENDPOINTS.listRuns, { query: { limit: 500, leaseId: undefined, state: 'failed' } }), '/v1/runs?limit=500&state=failed');
    assert.throws(() => pathOf(ENDPOINTS.getRun, {}), /missing path parameter id/);
  });

  it('every endpoint is a route of the coordinator, and every JSON route of the coordinator is an endpoint', async () => {
    h = await harness();
    // The dashboard's HTML pages live outside /v1 (src/dashboard/) and are not part of the JSON contract.
    const served = new Set(h.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/')).map((r) => `${r.method} ${r.path}`));
    const contract = new Set(Object.values(ENDPOINTS).map((e) => `${e.method} ${e.path}`));
    assert.deepEqual([...contract].filter((r) => !served.has(r)), [], 'in the contract but not served');
    assert.deepEqual([...served].filter((r) => !contract.has(r) && !NOT_CONTRACT.has(r)), [], 'served outside the contract: add it to ENDPOINTS');
  });

  it('the client calls the served routes and parses their answers with the same schemas', async () => {
    h ??= await harness();
    const app = h.app;
    const fetcher = (async (url: string, init: RequestInit) => app.request(new URL(url).pathname + new URL(url).search, init)) as unknown as typeof fetch;
    const client = new CoordinatorClient({ url: 'http://coordinator.test', token: await h.userToken('alice'), tokenKind: 'user', fetch: fetcher });
    const { lease, created } = await client.call('createLease', { body: { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t' } });
    assert.equal(created, true);
    assert.equal((await client.call('getLease', { params: { ref: lease.slug } })).lease.id, lease.id);
    assert.equal((await client.call('heartbeat', { params: { ref: lease.id } })).lease.id, lease.id);
    const { run } = await client.call('createRun', { body: { leaseId: lease.id, command: 'npm test' } });
    await client.call('finishRun', { params: { id: run.id }, body: { exitCode: 1, timings: { command: 5 }, logTail: 'bye\n' } });
    assert.equal((await client.call('listRuns', { query: { leaseId: lease.id } })).runs[0]?.state, 'failed');
    assert.equal((await client.call('runLogs', { params: { id: run.id } })).logTail, 'bye\n');
    assert.equal((await client.call('releaseLease', { params: { ref: lease.id } })).lease.state, 'released');
    assert.equal((await client.call('usage', {})).owner, (await client.whoami()).owner);
    assert.ok((await client.call('events', { query: { leaseId: lease.id } })).events.length > 0);
  });

  it('no source outside the contract and the coordinator writes a /v1 path by hand', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []));
    const handBuilt = files(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => f !== 'api/endpoints.ts' && !f.startsWith('coordinator/') && !f.startsWith('providers/hetzner/') && !f.startsWith('testing/'))
      .filter((f) => /['"`]\/v1\/|\}\/v1\//.test(readFileSync(join(SRC, f), 'utf8')));
    assert.deepEqual(handBuilt, []);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HetznerApiError, HetznerClient, classify } from './client.ts';
import { hetznerToken } from './token.ts';
import { invalidLabel, matchSelector } from './fake/app.ts';
import { leaseLabels } from '../../domain/labels.ts';
import { startFakeHetzner } from './fake/serve.ts';

const err = (status: number, code: string, message = 'x') => new HetznerApiError({ status, code, message });

describe('hetzner client', () => {
  it('classifies API errors', () => {
    assert.equal(classify(err(412, 'resource_unavailable')), 'capacity');
    assert.equal(classify(err(422, 'placement_error')), 'capacity');
    assert.equal(classify(err(400, 'invalid_input', 'server_type_not_available in fsn1')), 'capacity');
    assert.equal(classify(err(403, 'resource_limit_exceeded')), 'quota');
    assert.equal(classify(err(404, 'not_found')), 'not-found');
    assert.equal(classify(err(429, 'rate_limit_exceeded')), 'rate-limited');
    assert.equal(classify(err(423, 'locked')), 'locked');
    assert.equal(classify(err(400, 'invalid_input', 'unsupported location for server type')), 'unsupported');
    assert.equal(classify(err(500, 'server_error')), 'retryable');
    assert.equal(classify(err(0, 'timeout')), 'retryable');
    assert.equal(classify(err(409, 'uniqueness_error')), 'fatal');
    assert.equal(classify(err(400, 'invalid_input', 'image not found')), 'fatal');
    assert.equal(classify(err(401, 'unauthorized')), 'fatal');
    assert.equal(classify(new Error('boom')), 'fatal');
  });

  it('times out a request that gets no answer, and says so without the token', async () => {
    const hanging: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    const client = new HetznerClient({ token: 'secret-token-123456', baseUrl: 'http://127.0.0.1:9/v1', fetch: hanging, timeoutMs: 50, attempts: 2 });
    await assert.rejects(client.request('GET', '/servers'), (e: unknown) => e instanceof HetznerApiError && e.code === 'timeout' && classify(e) === 'retryable' && !e.message.includes('secret-token'));
  });

  it('sends the bearer token and reads the error shape', async () => {
    const fake = await startFakeHetzner();
    try {
      const client = new HetznerClient({ token: fake.token, baseUrl: fake.url });
      await assert.rejects(client.request('GET', '/servers/42'), (e: unknown) => e instanceof HetznerApiError && e.status === 404 && e.code === 'not_found');
      assert.deepEqual(await client.listAll('/servers', 'servers'), []);
    } finally {
      await fake.close();
    }
  });

  it('takes the token from HCLOUD_TOKEN, then HETZNER_TOKEN (an explicit one first); none is a config error', () => {
    assert.equal(hetznerToken(undefined, { HCLOUD_TOKEN: 'a', HETZNER_TOKEN: 'b' }), 'a');
    assert.equal(hetznerToken(undefined, { HETZNER_TOKEN: 'b' }), 'b');
    assert.equal(hetznerToken('c', { HETZNER_TOKEN: 'b' }), 'c');
    assert.throws(() => hetznerToken(undefined, {}), /HCLOUD_TOKEN or HETZNER_TOKEN is required/);
    assert.throws(() => new HetznerClient({ token: '' }), /token is required/);
  });
});

describe('fake API label rules', () => {
  it('accepts the labels Crabbox writes and refuses invalid ones', () => {
    const now = Date.UTC(2026, 0, 1);
    const lease = { id: 'cbx_0123456789ab', slug: 'blue-crab', owner: 'Peter@Example.com', org: 'Acme Inc', state: 'active' as const, keep: false, createdAt: now, lastTouchedAt: now, ttlSeconds: 5400, idleTimeoutSeconds: 1800, expiresAt: now + 1800_000 };
    assert.equal(invalidLabel(leaseLabels({ lease, installation: 'My Coordinator!' })), undefined);
    assert.match(invalidLabel({ k: 'has space' })!, /invalid label value/);
    assert.match(invalidLabel({ k: '-leading' })!, /invalid label value/);
    assert.match(invalidLabel({ k: 'x'.repeat(64) })!, /invalid label value/);
    assert.match(invalidLabel({ 'bad key!': 'v' })!, /invalid label key/);
    assert.equal(invalidLabel({ 'example.com/name': '' }), undefined);
  });

  it('matches label selectors', () => {
    assert.equal(matchSelector('crabbox=true,env!=prod', { crabbox: 'true', env: 'dev' }), true);
    assert.equal(matchSelector('crabbox=true,!keep', { crabbox: 'true', keep: 'x' }), false);
    assert.equal(matchSelector('crabbox', { crabbox: 'false' }), true);
    assert.equal(matchSelector('a in (b)', {}), 'invalid');
  });
});

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { CloudflareApiError, CloudflareClient } from './client.ts';
import { startFakeCloudflare, type RunningFakeCloudflare } from './fake/serve.ts';
import { RecordingClock } from '../providers/fake/recording-clock.ts';

describe('cloudflare client against the fake v4 API', () => {
  let fake: RunningFakeCloudflare;
  let clock: RecordingClock;
  let stop: () => void;
  let client: CloudflareClient;
  const records = (): string => `/zones/${fake.state.zone.id}/dns_records`;

  before(async () => {
    clock = new RecordingClock(Date.UTC(2026, 0, 1));
    stop = clock.autoAdvance();
    fake = await startFakeCloudflare({ clock });
  });
  after(async () => {
    stop();
    await fake.close();
  });
  beforeEach(() => {
    client = new CloudflareClient({ token: fake.token, baseUrl: fake.url, clock });
    fake.state.errors.length = 0;
    fake.state.dnsRecords.clear();
    clock.sleeps.length = 0;
  });

  it('unwraps the envelope and sends the token only as a bearer header', async () => {
    const made = await client.request<{ id: string; name: string }>('POST', records(), { body: { type: 'CNAME', name: `a.${fake.state.zone.name}`, content: 'x.cfargotunnel.com', proxied: true } });
    assert.equal(made.name, `a.${fake.state.zone.name}`);
    const last = fake.state.requests.at(-1)!;
    assert.equal(last.authorization, `Bearer ${fake.token}`);
    assert.ok(!last.path.includes(fake.token) && !(last.body ?? '').includes(fake.token));
  });

  it('a refused token is an error with Cloudflare\'s code and message, and without the token', async () => {
    const bad = new CloudflareClient({ token: 'wrong-token-0123456789', baseUrl: fake.url, clock });
    await assert.rejects(bad.request('GET', records()), (error: CloudflareApiError) => {
      assert.equal(error.status, 403);
      assert.deepEqual(error.codes, [10000]);
      assert.match(error.message, /^cloudflare GET \/zones\/\w+\/dns_records: Authentication error \(10000\)$/);
      assert.ok(!error.message.includes('wrong-token'));
      return true;
    });
  });

  it('waits out a 429 for its Retry-After on the clock, then succeeds', async () => {
    fake.state.errors.push({ method: 'GET', pathPrefix: records(), status: 429, code: 971, message: 'Please wait and consider throttling your request speed', times: 2, retryAfterSeconds: 7 });
    const list = await client.listAll(records());
    assert.deepEqual(list, []);
    assert.deepEqual(clock.sleeps, [7000, 7000]);
  });

  it('retries 5xx with exponential backoff, and gives up after its attempts with the last error', async () => {
    fake.state.errors.push({ method: 'GET', pathPrefix: records(), status: 503, code: 10013, times: 2 });
    await client.listAll(records());
    assert.deepEqual(clock.sleeps, [500, 1000]);
    clock.sleeps.length = 0;
    fake.state.errors.push({ method: 'GET', pathPrefix: records(), status: 500, code: 10001, message: 'Internal server error', times: 10 });
    await assert.rejects(client.listAll(records()), /Internal server error \(10001\)/);
    assert.deepEqual(clock.sleeps, [500, 1000, 2000]);
  });

  it('does not retry a 4xx that is not a 429', async () => {
    await assert.rejects(client.request('POST', records(), { body: { type: 'CNAME', name: 'outside.example.org', content: 'x' } }), (e: CloudflareApiError) => e.status === 400 && e.codes[0] === 9005);
    assert.deepEqual(clock.sleeps, []);
  });

  it('reads every page of a list by result_info', async () => {
    for (let i = 0; i < 120; i++) fake.state.dnsRecords.set(`r${i}`, { id: `r${i}`, zone_id: fake.state.zone.id, zone_name: fake.state.zone.name, name: `h${i}.${fake.state.zone.name}`, type: 'CNAME', content: 'x', proxiable: true, proxied: true, ttl: 1, comment: null, tags: [], created_on: '', modified_on: '' });
    const before = fake.state.requests.length;
    const all = await client.listAll<{ id: string }>(records());
    assert.equal(all.length, 120);
    assert.equal(new Set(all.map((r) => r.id)).size, 120);
    assert.equal(fake.state.requests.length - before, 3, 'three pages of 50');
  });

  it('refuses to start without a token, in the operator\'s terms', () => {
    assert.throws(() => new CloudflareClient({ token: '' }), /a Cloudflare API token is required for tunnel mode/);
  });
});

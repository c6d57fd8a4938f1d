import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCrabboxError } from '../domain/errors.ts';
import { loadServeSettings } from './load-config.ts';
import { loginHarness, type LoginHarness } from './login/testkit.ts';
import { forwardedAddress, rateLimitKey } from './source-address.ts';
import { harness, PUBLIC_KEY, SHARED_TOKEN } from './testkit.ts';

/** Issue 22 finding 10: pending logins counted per IPv6 /64, and a trusted proxy's client address header. */
describe('rate-limit buckets', () => {
  it('an IPv4 address is its own bucket; an IPv6 address counts by its /64', () => {
    const cases: [string | undefined, string][] = [
      ['192.0.2.7', '192.0.2.7'],
      ['::ffff:192.0.2.7', '192.0.2.7'],
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
      ['2001:DB8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
      ['2001:db8::', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
      ['not an address', 'unknown'],
      [undefined, 'unknown'],
    ];
    for (const [address, key] of cases) assert.equal(rateLimitKey(address), key, String(address));
  });

  it('a forwarded address counts only from the configured proxy, and X-Forwarded-For by its last hop', () => {
    const cf = { header: 'CF-Connecting-IP', from: ['173.245.48.0/20', '2400:cb00::/32'] };
    assert.equal(forwardedAddress('173.245.48.9', '198.51.100.7', cf), '198.51.100.7');
    assert.equal(forwardedAddress('::ffff:173.245.48.9', '2001:db8::5', cf), '2001:db8::5');
    assert.equal(forwardedAddress('2400:cb00::1', '198.51.100.7', cf), '198.51.100.7');
    assert.equal(forwardedAddress('203.0.113.1', '198.51.100.7', cf), undefined, 'not from the proxy: ignored');
    assert.equal(forwardedAddress('173.245.48.9', 'evil, 198.51.100.7', cf), undefined, 'not one address');
    assert.equal(forwardedAddress('173.245.48.9', undefined, cf), undefined);
    assert.equal(forwardedAddress('173.245.48.9', '198.51.100.7', undefined), undefined, 'no proxy configured');
    const xff = { header: 'X-Forwarded-For', from: ['10.0.0.0/8'] };
    assert.equal(forwardedAddress('10.1.2.3', '1.1.1.1, 198.51.100.7', xff), '198.51.100.7', 'the hop our proxy added');
  });

  it('the trusted proxy settings need both a header and CIDRs, from env or file', () => {
    const env = { CRABBOX_SHARED_TOKEN: SHARED_TOKEN };
    assert.deepEqual(loadServeSettings({ ...env, CRABBOX_TRUSTED_PROXY_HEADER: 'CF-Connecting-IP', CRABBOX_TRUSTED_PROXIES: '173.245.48.0/20, 127.0.0.1' }).config.trustedProxy, { header: 'CF-Connecting-IP', from: ['173.245.48.0/20', '127.0.0.1/32'] });
    assert.equal(loadServeSettings(env).config.trustedProxy, undefined);
    const refused = (extra: NodeJS.ProcessEnv, message: RegExp) => assert.throws(() => loadServeSettings({ ...env, ...extra }), (e: Error) => isCrabboxError(e) && e.code === 'invalid_config' && message.test(e.message));
    refused({ CRABBOX_TRUSTED_PROXY_HEADER: 'CF-Connecting-IP' }, /needs both its client-address header and the CIDRs/);
    refused({ CRABBOX_TRUSTED_PROXIES: '10.0.0.0/8' }, /needs both/);
    refused({ CRABBOX_TRUSTED_PROXY_HEADER: 'bad header', CRABBOX_TRUSTED_PROXIES: '10.0.0.0/8' }, /must be an HTTP header name/);
    refused({ CRABBOX_TRUSTED_PROXY_HEADER: 'X-Real-IP', CRABBOX_TRUSTED_PROXIES: '0.0.0.0/0' }, /^trusted proxy: 0\.0\.0\.0\/0 is too wide \(at most \/8 for IPv4, \/16 for IPv6\)/);
    refused({ CRABBOX_TRUSTED_PROXY_HEADER: 'X-Real-IP', CRABBOX_TRUSTED_PROXIES: 'proxy.example' }, /^trusted proxy: "proxy\.example" is not an IPv4 or IPv6 CIDR/);
  });
});

describe('login starts behind a proxy and over IPv6', () => {
  let h: LoginHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('rotating IPv6 addresses inside one /64 share one bound; another /64 has its own', async () => {
    h = await loginHarness({ maxPendingPerSource: 2, maxPending: 10 });
    assert.equal((await h.start({ source: '2001:db8:aa:1::1' })).status, 201);
    assert.equal((await h.start({ source: '2001:db8:aa:1::2' })).status, 201);
    const third = await h.start({ source: '2001:db8:aa:1:ffff:1234:5678:9abc' });
    assert.equal(third.status, 429);
    assert.match(third.json.message, /too many logins are pending from your address/);
    assert.equal((await h.start({ source: '2001:db8:aa:2::1' })).status, 201);
    const rows = await Promise.all([h.start({ source: '2001:db8:bb:1::42' })].map(async (s) => h!.store.getLogin((await s).loginId)));
    assert.deepEqual([rows[0]?.source, rows[0]?.address], ['2001:db8:bb:1::/64', '2001:db8:bb:1::42']);
  });

  it('behind a trusted proxy the client address header decides the bucket and the page; from anyone else it is ignored', async () => {
    h = await loginHarness({ maxPendingPerSource: 1, maxPending: 10 });
    h.deps.config.trustedProxy = { header: 'CF-Connecting-IP', from: ['127.0.0.1/32'] };
    // Many people behind the proxy: each counts alone.
    const alice = await h.start({ source: '127.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.7' } });
    const bob = await h.start({ source: '127.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.8' } });
    assert.deepEqual([alice.status, bob.status], [201, 201]);
    assert.equal((await h.start({ source: '127.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.7' } })).status, 429);
    assert.equal((await h.browser().openLoginLink(alice.authorizeUrl)).form.from, '198.51.100.7');
    // A client reaching the coordinator directly cannot pick its bucket with the header.
    const direct = await h.start({ source: '203.0.113.5', headers: { 'cf-connecting-ip': '198.51.100.99' } });
    assert.equal((await h.store.getLogin(direct.loginId))?.source, '203.0.113.5');
    assert.equal((await h.start({ source: '203.0.113.5', headers: { 'cf-connecting-ip': '198.51.100.100' } })).status, 429);
  });

  it('without a trusted proxy configured the header is ignored', async () => {
    h = await loginHarness({ maxPendingPerSource: 1 });
    const first = await h.start({ source: '127.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal((await h.store.getLogin(first.loginId))?.address, '127.0.0.1');
    assert.equal((await h.start({ source: '127.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.8' } })).status, 429);
  });
});

describe('lease firewalls behind a trusted proxy', () => {
  it('a lease created through the proxy opens SSH to the client address, not the proxy', async () => {
    await using h = await harness({ config: { trustedProxy: { header: 'X-Forwarded-For', from: ['10.0.0.0/8'] } } });
    const env = { incoming: { socket: { remoteAddress: '10.9.8.7' } } };
    const res = await h.app.request('/v1/leases', {
      method: 'POST', body: JSON.stringify({ sshPublicKey: PUBLIC_KEY }),
      headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'ci-bot', 'content-type': 'application/json', 'x-forwarded-for': '1.2.3.4, 198.51.100.7' },
    }, env);
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(h.provider.specs[0]!.allowedCidrs, ['198.51.100.7/32']);
  });
});

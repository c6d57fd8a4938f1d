import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectOutboundCidr, isWorldOpen, parseCidr, parseCidrList, pickSshCidrs } from './cidr.ts';
import { isCrabboxError } from '../domain/errors.ts';

const fetchFrom = (answers: Record<string, string | Error | number>, seen: string[] = []): typeof fetch =>
  (async (input: string | URL | Request) => {
    const url = String(input);
    seen.push(url);
    const answer = answers[url];
    if (answer === undefined || answer instanceof Error) throw answer ?? new Error('offline');
    if (typeof answer === 'number') return new Response('nope', { status: answer });
    return new Response(answer);
  }) as typeof fetch;

describe('aws ssh cidrs', () => {
  it('parses CIDRs and bare addresses, refusing world-open, too-wide and malformed input', () => {
    assert.equal(parseCidr('203.0.113.7').cidr, '203.0.113.7/32');
    assert.equal(parseCidr(' 2001:DB8::1 ').cidr, '2001:db8::1/128');
    assert.equal(parseCidr('10.0.0.0/8').cidr, '10.0.0.0/8');
    for (const bad of ['0.0.0.0/0', '::/0', '128.0.0.0/1', '2000::/3', '1.2.3.4/33', '1.2.3.4/8/9', 'example.com', '1.2.3.4/x', '']) {
      assert.throws(() => parseCidr(bad, 'CRABBOX_AWS_SSH_CIDRS'), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && e.message.startsWith('CRABBOX_AWS_SSH_CIDRS'), bad);
    }
    assert.ok(isWorldOpen('0.0.0.0/0') && isWorldOpen('::/0') && !isWorldOpen('10.0.0.0/8'));
    assert.deepEqual(parseCidrList(' 203.0.113.7/32, 198.51.100.0/24 ', 'env'), ['203.0.113.7/32', '198.51.100.0/24']);
    assert.equal(parseCidrList('  ', 'env'), undefined);
  });

  it('picks override > detected > request source', () => {
    assert.deepEqual(pickSshCidrs({ override: ['198.51.100.0/24'], detected: '203.0.113.7/32', source: '192.0.2.1' }), ['198.51.100.0/24']);
    assert.deepEqual(pickSshCidrs({ override: [], detected: '203.0.113.7/32', source: '192.0.2.1' }), ['203.0.113.7/32']);
    assert.deepEqual(pickSshCidrs({ source: '::ffff:192.0.2.1' }), ['192.0.2.1/32']);
    assert.deepEqual(pickSshCidrs({}), []);
    assert.throws(() => pickSshCidrs({ source: '0.0.0.0/0' }));
  });

  it('detects the outbound IPv4 as /32, skipping services that fail or answer garbage', async () => {
    const seen: string[] = [];
    const urls = ['https://a.invalid/', 'https://b.invalid/', 'https://c.invalid/', 'https://d.invalid/'];
    const cidr = await detectOutboundCidr({ urls, fetch: fetchFrom({ [urls[0]!]: new Error('down'), [urls[1]!]: 503, [urls[2]!]: '<html>hi</html>', [urls[3]!]: '203.0.113.9\n' }, seen) });
    assert.equal(cidr, '203.0.113.9/32');
    assert.deepEqual(seen, urls);
    assert.equal(await detectOutboundCidr({ urls: ['https://a.invalid/'], fetch: fetchFrom({ 'https://a.invalid/': '2001:db8::1' }) }), undefined, 'IPv6 answers are not an IPv4 /32');
    assert.equal(await detectOutboundCidr({ urls: ['https://a.invalid/'], fetch: fetchFrom({}) }), undefined);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brokeredCallerCidr } from './coordinator-session.ts';

/** Which brokered creates send a caller address; detection asks a loopback echo server, never the internet. */
describe('brokered caller CIDR', () => {
  let server: Server;
  let url: string;
  let hits = 0;
  before(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('192.0.2.55\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ip`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const ctx = (env: NodeJS.ProcessEnv, lines: string[] = []) => ({ env: { CRABBOX_IP_ECHO_URL: url, ...env }, warn: (l: string) => void lines.push(l) });

  it('detects for a named cloud provider', async () => {
    assert.equal(await brokeredCallerCidr(ctx({}), 'hetzner'), '192.0.2.55/32');
    assert.equal(await brokeredCallerCidr(ctx({}), 'aws'), '192.0.2.55/32');
  });

  it('sends nothing (the coordinator uses the source address) for local or an unnamed provider, without asking', async () => {
    const before = hits;
    assert.equal(await brokeredCallerCidr(ctx({}), 'local'), undefined);
    assert.equal(await brokeredCallerCidr(ctx({}), undefined), undefined);
    assert.equal(hits, before);
  });

  it('an explicit CRABBOX_CALLER_CIDR is sent for any provider; off sends nothing', async () => {
    const before = hits;
    assert.equal(await brokeredCallerCidr(ctx({ CRABBOX_CALLER_CIDR: '198.51.100.0/24' }), undefined), '198.51.100.0/24');
    assert.equal(await brokeredCallerCidr(ctx({ CRABBOX_CALLER_CIDR: 'off' }), 'aws'), undefined);
    assert.equal(hits, before);
  });

  it('an echo service that fails is one warning line', async () => {
    const lines: string[] = [];
    assert.equal(await brokeredCallerCidr(ctx({ CRABBOX_IP_ECHO_URL: 'http://127.0.0.1:9/none' }, lines), 'aws'), undefined);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^warning: could not detect your public IPv4 address/);
  });
});

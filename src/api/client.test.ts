import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { CrabboxError } from '../domain/errors.ts';
import { CoordinatorClient } from './client.ts';

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const WHO = { owner: 'github-1', org: 'acme', login: 'alice', role: 'user', via: 'user-token', expiresAt: '2026-01-01T00:00:00.000Z' };

function recording(status: number, body: unknown) {
  const seen: { url: string; headers: Record<string, string> }[] = [];
  const fetcher = (async (url: string, init: RequestInit) => {
    seen.push({ url, headers: init.headers as Record<string, string> });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { seen, fetcher };
}

describe('coordinator HTTP client', () => {
  it('sends owner/org headers with the shared token only', async () => {
    const shared = recording(200, WHO);
    await new CoordinatorClient({ url: 'https://c.example/', token: 'shared-token-xxxxxxxx', tokenKind: 'shared', owner: 'ci', org: 'acme', fetch: shared.fetcher }).whoami();
    assert.equal(shared.seen[0]!.url, 'https://c.example/v1/whoami');
    assert.equal(shared.seen[0]!.headers.authorization, 'Bearer shared-token-xxxxxxxx');
    assert.equal(shared.seen[0]!.headers['x-crabbox-owner'], 'ci');
    const user = recording(200, WHO);
    await new CoordinatorClient({ url: 'https://c.example', token: 'cbxu_x.y', tokenKind: 'user', owner: 'ci', org: 'acme', fetch: user.fetcher }).whoami();
    assert.equal(user.seen[0]!.headers['x-crabbox-owner'], undefined);
    assert.equal(user.seen[0]!.headers['x-crabbox-org'], undefined);
  });

  it('turns coordinator errors, odd answers and network failures into one-line CrabboxErrors', async () => {
    const denied = recording(401, { error: 'unauthorized', message: 'your login has expired', hint: 'run `crabbox login` again' });
    await assert.rejects(new CoordinatorClient({ url: 'https://c.example', fetch: denied.fetcher }).whoami(), (e: CrabboxError) => e.code === 'unauthorized' && e.message === 'your login has expired' && e.hint === 'run `crabbox login` again');
    const html = recording(502, '<html>bad gateway</html>');
    await assert.rejects(new CoordinatorClient({ url: 'https://c.example', fetch: html.fetcher }).whoami(), (e: CrabboxError) => e.code === 'unavailable' && /HTTP 502/.test(e.message));
    const odd = recording(200, { hello: 'world' });
    await assert.rejects(new CoordinatorClient({ url: 'https://c.example', fetch: odd.fetcher }).whoami(), /does not understand/);
    const closed = await freePort();
    await assert.rejects(new CoordinatorClient({ url: `http://127.0.0.1:${closed}` }).whoami(), (e: CrabboxError) => e.code === 'unavailable' && e.message === `cannot reach the coordinator at http://127.0.0.1:${closed}: ECONNREFUSED 127.0.0.1:${closed}` && e.hint === 'is it running? check the URL and your network');
    const slow = (async (_u: string, init: RequestInit) => new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch;
    await assert.rejects(new CoordinatorClient({ url: 'https://c.example', timeoutMs: 20, fetch: slow }).whoami(), (e: CrabboxError) => e.code === 'timeout');
  });
});

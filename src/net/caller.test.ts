import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isCrabboxError } from '../domain/errors.ts';
import { ManualClock } from '../domain/clock.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { createDirectLeaseService } from '../leases/direct.ts';
import { createBrokeredLeaseService } from '../leases/brokered.ts';
import { CoordinatorClient } from '../api/client.ts';
import { harness } from '../coordinator/testkit.ts';
import { tempDir } from '../testing/tmp.ts';
import { resolveCallerCidr } from './caller.ts';

const echo = (body: string, status = 200): typeof fetch => async () => new Response(body, { status });

describe('caller CIDR resolution (no network: the fetcher is injected)', () => {
  it('detects the outbound IPv4 and returns it as /32, asking the configured echo URL', async () => {
    const asked: string[] = [];
    const fetch: typeof globalThis.fetch = async (url) => {
      asked.push(String(url));
      return new Response('198.51.100.44\n');
    };
    assert.equal(await resolveCallerCidr({ env: { CRABBOX_IP_ECHO_URL: 'http://127.0.0.1:9/ip' }, fetch }), '198.51.100.44/32');
    assert.deepEqual(asked, ['http://127.0.0.1:9/ip']);
  });

  it('CRABBOX_CALLER_CIDR=off skips detection; an explicit value wins and is validated', async () => {
    const never: typeof fetch = async () => assert.fail('must not detect');
    assert.equal(await resolveCallerCidr({ env: { CRABBOX_CALLER_CIDR: 'off' }, fetch: never }), undefined);
    assert.equal(await resolveCallerCidr({ env: { CRABBOX_CALLER_CIDR: '203.0.113.5' }, fetch: never }), '203.0.113.5/32');
    await assert.rejects(resolveCallerCidr({ env: { CRABBOX_CALLER_CIDR: '0.0.0.0/0' }, fetch: never }), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && /CRABBOX_CALLER_CIDR/.test(e.message));
  });

  it('a failed detection is one warning line and no address', async () => {
    const warnings: string[] = [];
    for (const fetch of [echo('', 503), echo('<html>nope</html>'), (async () => { throw new Error('ENOTFOUND'); }) as typeof globalThis.fetch]) {
      assert.equal(await resolveCallerCidr({ env: { CRABBOX_IP_ECHO_URL: 'http://127.0.0.1:9/ip' }, fetch, warn: (l) => warnings.push(l) }), undefined);
    }
    assert.equal(warnings.length, 3);
    for (const w of warnings) assert.match(w, /^warning: could not detect your public IPv4 address .*CRABBOX_CALLER_CIDR/);
    assert.ok(warnings.every((w) => !w.includes('\n')));
  });
});

describe('caller CIDR reaches the provider', () => {
  const dirs: { remove(): void }[] = [];
  after(() => dirs.forEach((d) => d.remove()));
  const config = (stateDir: string) => ({
    owner: 'ada@example.com', org: 'local',
    lease: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false },
    ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
    paths: { userConfig: join(stateDir, 'config.yaml'), stateDir },
    coordinator: undefined,
  });

  it('direct mode: a billable cloud provider gets the detected /32 as allowedCidrs; a local one is never asked', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cloud = new FakeProvider();
    let asked = 0;
    const callerCidr = async () => (asked++, '198.51.100.44/32');
    const leases = createDirectLeaseService({ config: config(dir.path), provider: cloud, clock: new ManualClock(Date.UTC(2026, 0, 1)), waitReady: async () => 0, callerCidr });
    await leases.create();
    assert.deepEqual(cloud.specs[0]!.allowedCidrs, ['198.51.100.44/32']);

    const local = new FakeProvider({ name: 'localish' });
    Object.assign(local.capabilities, { billable: false, local: true });
    const localLeases = createDirectLeaseService({ config: config(dir.path), provider: local, clock: new ManualClock(Date.UTC(2026, 0, 1)), waitReady: async () => 0, callerCidr });
    await localLeases.create();
    assert.equal(local.specs[0]!.allowedCidrs, undefined);
    assert.equal(asked, 1, 'detection only for the billable, non-local provider');
  });

  it('direct mode: no detected address leaves allowedCidrs unset for the provider to apply its rule', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cloud = new FakeProvider();
    const leases = createDirectLeaseService({ config: config(dir.path), provider: cloud, clock: new ManualClock(Date.UTC(2026, 0, 1)), waitReady: async () => 0, callerCidr: async () => undefined });
    await leases.create();
    assert.equal(cloud.specs[0]!.allowedCidrs, undefined);
  });

  it('brokered mode: the CLI sends callerCidr and the coordinator passes it to the provider', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const h = await harness();
    const client = new CoordinatorClient({ url: 'http://coordinator.test', token: await h.userToken('ada'), tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
    const leases = createBrokeredLeaseService({ client, stateDir: dir.path, clock: h.clock, connectTimeoutSeconds: 5, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: false }, waitReady: async () => 0, callerCidr: async () => '203.0.113.77/32' });
    await leases.create();
    assert.deepEqual(h.provider.specs[0]!.allowedCidrs, ['203.0.113.77/32']);
    await h.close();
  });
});

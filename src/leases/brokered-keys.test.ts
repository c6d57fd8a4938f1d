// The brokered key sweep against an in-process coordinator (real SQLite, fake provider): which key folders go.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinatorClient } from '../api/client.ts';
import { harness } from '../coordinator/testkit.ts';
import { tempDir } from '../testing/tmp.ts';
import { createBrokeredLeaseService } from './brokered.ts';
import { BROKERED_MARKER, brokeredKeySweepIfDue, sweepBrokeredKeys } from './brokered-keys.ts';
import { saveTouched } from './touched.ts';

const dir = tempDir('crabbox-brokered-keys-');
after(() => dir.remove());
const MIN = 60_000;

describe('brokered key sweep', () => {
  it('removes keys of gone and unknown leases and stale pending creates; keeps live leases, young creates, other coordinators and direct-mode keys', async () => {
    const h = await harness();
    try {
      const token = await h.userToken('alice');
      const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
      const stateDir = join(dir.path, 'alice');
      const leases = createBrokeredLeaseService({ client, stateDir, clock: h.clock, connectTimeoutSeconds: 5, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: false }, waitReady: async () => 0 });
      const live = (await leases.create({})).lease.id;
      const released = (await leases.create({})).lease.id;
      // Released elsewhere (an admin, or another machine): this CLI's key folder stays behind.
      assert.equal((await h.request('POST', `/v1/leases/${released}/release`, { token })).status, 200);
      const root = join(stateDir, 'leases');
      const folder = (name: string, files: Record<string, string>, ageMs: number): void => {
        mkdirSync(join(root, name), { recursive: true });
        for (const [f, text] of Object.entries(files)) writeFileSync(join(root, name, f), text);
        const t = (h.clock.now() - ageMs) / 1000;
        utimesSync(join(root, name), t, t);
      };
      const marked = { [BROKERED_MARKER]: JSON.stringify({ url: client.url }), id_ed25519: 'key' };
      folder('cbx_00000000dead', marked, 0); // a lease the coordinator never had for us
      folder('cbx_0000000beef1', { [BROKERED_MARKER]: JSON.stringify({ url: 'https://other.example' }) }, 60 * MIN); // another coordinator's
      folder('cbx_0000000d1ec7', { 'lease.json': '{}' }, 60 * MIN); // direct mode's
      folder('cbx_00000000a1d0', { id_ed25519: 'key' }, 60 * MIN); // unmarked (older CLI), long gone
      folder('cbx_00000000fe5e', { id_ed25519: 'key' }, 1 * MIN); // unmarked and young: maybe a direct create in flight
      folder('pending-0123456789ab', marked, 17 * MIN); // a create killed long ago
      folder('pending-aaaaaaaaaaaa', marked, 2 * MIN); // a create that may still be running

      const dry = await sweepBrokeredKeys({ client, stateDir, clock: h.clock, dryRun: true });
      assert.equal(readdirSync(root).length, 9, 'a dry run removes nothing');
      const swept = await sweepBrokeredKeys({ client, stateDir, clock: h.clock });
      assert.deepEqual(swept, dry);
      assert.deepEqual(swept.removed.sort(), ['cbx_00000000a1d0', 'cbx_00000000dead', released, 'pending-0123456789ab'].sort());
      assert.deepEqual(swept.live, [live]);
      assert.deepEqual(readdirSync(root).sort(), ['cbx_0000000beef1', 'cbx_0000000d1ec7', 'cbx_00000000fe5e', live, 'pending-aaaaaaaaaaaa'].sort());
      assert.ok(existsSync(join(root, live, 'id_ed25519')), 'the live lease keeps its key');
    } finally {
      await h.close();
    }
  });

  it('runs at most once a minute, asks the coordinator only when there is a folder to check, and never fails the command', async () => {
    const h = await harness();
    try {
      let requests = 0;
      const token = await h.userToken('bob');
      const client = new CoordinatorClient({
        url: 'http://coordinator.test', token, tokenKind: 'user',
        fetch: (input, init) => {
          requests++;
          return Promise.resolve(h.app.fetch(new Request(input as string, init)));
        },
      });
      const stateDir = join(dir.path, 'bob');
      assert.deepEqual(await brokeredKeySweepIfDue({ client, stateDir, clock: h.clock }), { removed: [], live: [] });
      assert.equal(requests, 0, 'nothing to check: no request');
      mkdirSync(join(stateDir, 'leases', 'cbx_00000000dead'), { recursive: true });
      writeFileSync(join(stateDir, 'leases', 'cbx_00000000dead', BROKERED_MARKER), JSON.stringify({ url: client.url }));
      assert.equal(await brokeredKeySweepIfDue({ client, stateDir, clock: h.clock }), undefined, 'within the minute');
      h.clock.advance(MIN);
      assert.deepEqual((await brokeredKeySweepIfDue({ client, stateDir, clock: h.clock }))?.removed, ['cbx_00000000dead']);
      const down = new CoordinatorClient({ url: 'http://coordinator.test', token, fetch: () => Promise.reject(new TypeError('fetch failed')) });
      mkdirSync(join(stateDir, 'leases', 'cbx_00000000dea2'), { recursive: true });
      writeFileSync(join(stateDir, 'leases', 'cbx_00000000dea2', BROKERED_MARKER), JSON.stringify({ url: down.url }));
      h.clock.advance(MIN);
      const lines: string[] = [];
      assert.equal(await brokeredKeySweepIfDue({ client: down, stateDir, clock: h.clock, log: (l) => lines.push(l) }), undefined);
      assert.ok(existsSync(join(stateDir, 'leases', 'cbx_00000000dea2')), 'an unreachable coordinator proves nothing gone');
      assert.match(lines.join('\n'), /cannot reach the coordinator/);
    } finally {
      await h.close();
    }
  });

  it('before a command, a lease last seen active here is not asked about until its recorded expiry; cleanup asks at once', async () => {
    const h = await harness();
    try {
      let requests = 0;
      const client = new CoordinatorClient({
        url: 'http://coordinator.test', token: await h.userToken('carol'), tokenKind: 'user',
        fetch: (input, init) => {
          requests++;
          return Promise.resolve(h.app.fetch(new Request(input as string, init)));
        },
      });
      const stateDir = join(dir.path, 'carol');
      const id = 'cbx_00000000beef';
      mkdirSync(join(stateDir, 'leases', id), { recursive: true });
      writeFileSync(join(stateDir, 'leases', id, BROKERED_MARKER), JSON.stringify({ url: client.url }));
      const now = h.clock.now();
      saveTouched(stateDir, {
        id, slug: 'calm-crab', owner: 'carol', org: 'carol', provider: 'local', state: 'active', keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 600,
        createdAt: now, lastTouchedAt: now, expiresAt: now + 10 * MIN, installation: 'coordinator', machineStatus: 'running',
        machine: { provider: 'local', providerId: '', host: '127.0.0.1', ports: [2222], sshUser: 'cbx', workRoot: '/w', hostKey: 'ssh-ed25519 AAAA' },
      });
      assert.deepEqual(await brokeredKeySweepIfDue({ client, stateDir, clock: h.clock }), { removed: [], live: [id] });
      assert.equal(requests, 0, 'no request for a lease last seen live and unexpired');
      // `crabbox cleanup` asks: the coordinator never had this lease, so its keys go.
      assert.deepEqual((await sweepBrokeredKeys({ client, stateDir, clock: h.clock, dryRun: true })).removed, [id]);
      assert.equal(requests, 1);
      // Past its recorded expiry the sweep before a command asks too.
      h.clock.advance(11 * MIN);
      assert.deepEqual((await brokeredKeySweepIfDue({ client, stateDir, clock: h.clock }))?.removed, [id]);
      assert.equal(requests, 2);
    } finally {
      await h.close();
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL, leaseLabels } from '../domain/labels.ts';
import { newLeaseId } from '../domain/ids.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { startFakeHetznerProvider } from '../providers/hetzner/fake/harness.ts';
import { startFakeAws } from '../providers/aws/fake/harness.ts';
import { chaosSeeds, type ChaosOptions } from '../providers/fake/chaos.ts';
import type { RecordingClock } from '../providers/fake/recording-clock.ts';
import type { Provider } from '../providers/provider.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetStore } from '../storage/store.ts';
import { createApp } from './app.ts';
import { coordinatorConfig } from './config.ts';
import type { CoordinatorDeps } from './deps.ts';
import { sweep } from './sweeper.ts';
import { SESSION_SECRET, SHARED_TOKEN } from './testkit.ts';
import { nodePeerAddress } from './entry/node-peer.ts';

const MIN = 60_000;
const INSTALLATION = 'cloud-lifecycle';

/** One cloud under test: the real provider on its fake, sharing one manual clock with the coordinator. */
interface Cloud {
  name: 'hetzner' | 'aws';
  provider: Provider;
  clock: RecordingClock;
  /** Cloud objects of one lease still alive (all of them when no lease is given). */
  objects(leaseId?: string): string[];
  /** What chaos injected (empty without chaos). */
  faults(): string[];
  close(): Promise<void>;
}

async function hetzner(chaos: ChaosOptions | undefined): Promise<Cloud> {
  const setup = await startFakeHetznerProvider({ fake: { chaos }, locations: ['fsn1', 'nbg1', 'hel1'] });
  const s = setup.fake.state;
  const of = (labels: Record<string, string>, leaseId?: string) => !leaseId || labels[LABEL.lease] === leaseId;
  return {
    name: 'hetzner',
    provider: setup.provider,
    clock: setup.clock,
    objects: (leaseId) => [
      ...[...s.servers.values()].filter((x) => of(x.labels, leaseId)).map((x) => `server ${x.name}`),
      ...[...s.sshKeys.values()].filter((k) => of(k.labels, leaseId)).map((k) => `ssh key ${k.name}`),
      ...[...s.firewalls.values()].filter((f) => of(f.labels, leaseId)).map((f) => `firewall ${f.name}`),
    ],
    faults: () => s.chaos?.log ?? [],
    close: () => setup.close(),
  };
}

async function aws(chaos: ChaosOptions | undefined): Promise<Cloud> {
  const setup = await startFakeAws({ fake: { chaos } });
  const a = setup.fake.account;
  return {
    name: 'aws',
    provider: setup.provider,
    clock: setup.clock,
    objects: (leaseId) => {
      if (!leaseId) return setup.leftovers();
      const live = [...a.instances.values()].filter((i) => i.tags.get(LABEL.lease) === leaseId && i.state !== 'shutting-down' && i.state !== 'terminated');
      return [...live.map((i) => `instance ${i.id}`), ...[...a.keyPairs.keys()].filter((k) => k === `crabbox-${leaseId}`).map((k) => `key pair ${k}`)];
    },
    faults: () => setup.fake.chaos?.log ?? [],
    close: () => setup.stop(),
  };
}

const modes = [{ title: 'realistic', chaos: undefined as ChaosOptions | undefined }, ...chaosSeeds(process.env).map((seed) => ({ title: `chaos seed ${seed}`, chaos: { seed } as ChaosOptions }))];

/**
 * The coordinator's lease lifecycle against the real Hetzner and AWS providers on their fakes: realistic by default
 * (running actions, locks, propagation delays, rate budgets), then under seeded chaos. Whatever happens, after the
 * sweeps nothing is left in the cloud account.
 */
for (const make of [hetzner, aws]) {
  for (const mode of modes) {
    describe(`coordinator lifecycle on ${make.name === 'hetzner' ? 'Hetzner' : 'AWS'} (${mode.title})`, () => {
      let cloud: Cloud;
      let store: FleetStore;
      let deps: CoordinatorDeps;
      let app: ReturnType<typeof createApp>;

      before(async () => {
        cloud = await make(mode.chaos);
        store = await openSqliteStore({ path: ':memory:', now: cloud.clock.now() });
        const config = coordinatorConfig({ installation: INSTALLATION, defaultProvider: cloud.name, auth: { sharedToken: SHARED_TOKEN, sessionSecret: SESSION_SECRET, admins: ['root'] } });
        deps = { store, providers: { [cloud.name]: cloud.provider }, clock: cloud.clock, config, hostKeys: async () => generateKeyPair('host'), peerAddress: nodePeerAddress };
        app = createApp(deps);
      });

      after(async () => {
        try {
          // Whatever the tests left (and whatever chaos broke), the sweeps clean up: expiry, the cleanup queue with its
          // retries, orphans past the safety window, dangling keys and firewalls.
          for (let round = 0; round < 4 && cloud.objects().length > 0; round++) {
            cloud.clock.advance(3 * 3600_000);
            await sweep(deps, { orphans: true });
          }
          assert.deepEqual(cloud.objects(), [], `leaked after the sweeps (${mode.title}; faults: ${cloud.faults().join('; ')})`);
          if (mode.chaos) assert.ok(cloud.faults().length > 0, 'chaos injected nothing');
        } finally {
          await store.close();
          await cloud.close();
        }
      });

      const call = async (method: string, path: string, body?: unknown) => {
        const res = await app.request(path, { method, headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'ada@example.com', 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as any };
      };
      const create = (extra: Record<string, unknown> = {}) => call('POST', '/v1/leases', { sshPublicKey: generateKeyPair('lease').publicKey, callerCidr: '203.0.113.7/32', ttlSeconds: 3600, idleTimeoutSeconds: 1800, ...extra });

      it('create, heartbeat, release: the machine and its per-lease objects are gone', async () => {
        const res = await create();
        assert.equal(res.status, 201, JSON.stringify(res.json));
        const lease = res.json.lease;
        assert.equal(lease.state, 'active');
        assert.ok(lease.machine.host);
        assert.ok(cloud.objects(lease.id).length > 0);
        assert.equal((await call('POST', `/v1/leases/${lease.id}/heartbeat`, {})).status, 200);
        const released = await call('POST', `/v1/leases/${lease.id}/release`, {});
        assert.equal(released.status, 200, JSON.stringify(released.json));
        await sweep(deps); // a release whose cleanup hit a fault is retried from the queue
        assert.deepEqual(cloud.objects(lease.id), []);
      });

      it('an idle lease expires and the sweep deletes its machine', async () => {
        const res = await create({ idleTimeoutSeconds: 600 });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        const lease = res.json.lease;
        cloud.clock.advance(11 * MIN);
        await sweep(deps);
        await sweep(deps);
        assert.equal((await store.getLease(lease.id))?.state, 'expired');
        assert.deepEqual(cloud.objects(lease.id), []);
      });

      it('a release while the machine is still being created deletes it', async () => {
        const creating = create();
        let leaseId: string | undefined;
        // Bounded by time, not turns: each recorded write waits for its fsync, which a busy disk can stretch.
        for (const deadline = Date.now() + 10_000; !leaseId && Date.now() < deadline; ) {
          await new Promise((resolve) => setImmediate(resolve));
          leaseId = (await store.listLeases({ owner: 'ada@example.com', states: ['provisioning'] })).items.find((l) => l.providerId)?.id;
        }
        assert.ok(leaseId, 'the provider id was recorded while provisioning');
        const released = await call('POST', `/v1/leases/${leaseId}/release`, {});
        assert.equal(released.status, 200, JSON.stringify(released.json));
        // The create either finished first, noticed the release (409), or lost its key and firewall to the release
        // between two candidates (502): in every case the release wins and nothing stays.
        const res = await creating;
        assert.ok([201, 409, 502].includes(res.status), JSON.stringify(res.json));
        await sweep(deps);
        assert.notEqual((await store.getLease(leaseId))?.state, 'active');
        assert.deepEqual(cloud.objects(leaseId), []);
      });

      it('a machine whose coordinator died before recording it is found by its labels and deleted', async () => {
        const leaseId = newLeaseId();
        const now = cloud.clock.now();
        const draft = { id: leaseId, slug: leaseId.slice(4), owner: 'ada@example.com', org: 'acme', provider: cloud.name, state: 'provisioning' as const, keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 1800, createdAt: now, lastTouchedAt: now, expiresAt: now + 1800_000 };
        const keys = { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') };
        await cloud.provider.create({ leaseId, slug: draft.slug, labels: leaseLabels({ lease: draft, installation: INSTALLATION }), ...keys, allowedCidrs: ['203.0.113.7/32'] });
        await sweep(deps, { orphans: true });
        assert.ok(cloud.objects(leaseId).length > 0, 'inside the safety window it is left alone');
        cloud.clock.advance(31 * MIN);
        await sweep(deps, { orphans: true });
        await sweep(deps, { orphans: true });
        assert.deepEqual(cloud.objects(leaseId), []);
      });
    });
  }
}

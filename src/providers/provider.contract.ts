import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Machine, MachineSpec, Provider } from './provider.ts';
import { LABEL } from '../domain/labels.ts';
import { newLeaseId, baseSlug } from '../domain/ids.ts';
import { systemClock } from '../domain/clock.ts';

export interface ProviderFixture {
  provider: Provider;
  /** A complete, valid spec for a new lease on this provider. */
  spec(leaseId: string, labels?: Record<string, string>): Promise<MachineSpec> | MachineSpec;
  /**
   * Proves the description points at the machine itself, or throws: for providers with a real box (local, ssh) an
   * SSH server answers on the reported host and first port; for API fakes the cloud's own record of that machine
   * holds the reported address (nothing listens there).
   */
  reachable(machine: Machine): Promise<void>;
  /** Removes anything the fixture itself set up. */
  teardown?(): Promise<void>;
  /**
   * Cloud objects still alive in the (fake) account after the suite deleted its machines and ran the dangling sweep:
   * servers, instances, keys, key pairs, firewalls, security groups. Must be empty; a leak fails the suite.
   */
  leftovers?(): Promise<string[]> | string[];
}

/** The behaviour every provider must show. Each provider's test file calls this with a fixture; every test runs. */
export function runProviderContract(name: string, makeFixture: () => Promise<ProviderFixture>): void {
  const test = (title: string, fn: (fx: ProviderFixture) => Promise<void>): void => {
    it(title, async () => fn(await fixture()));
  };

  let current: Promise<ProviderFixture> | undefined;
  const fixture = (): Promise<ProviderFixture> => (current ??= makeFixture());
  const created: string[] = [];

  describe(`provider contract: ${name}`, () => {
    after(async () => {
      if (!current) return;
      const fx = await current;
      try {
        for (const id of created) await fx.provider.delete(id);
        if (fx.provider.sweepDangling) await fx.provider.sweepDangling({ installation: 'contract', minAgeMs: 0 });
        const left = (await fx.leftovers?.()) ?? [];
        assert.deepEqual(left, [], `${name}: cloud objects leaked after delete and the dangling sweep`);
      } finally {
        await fx.teardown?.();
      }
    });

    test('create returns a reachable machine description carrying the labels', async (fx) => {
      const leaseId = newLeaseId();
      const spec = await fx.spec(leaseId);
      const machine = await fx.provider.create(spec);
      created.push(machine.providerId);
      assert.equal(machine.provider, fx.provider.name);
      assert.ok(machine.providerId, 'providerId is set');
      assert.ok(machine.host, 'host is set');
      assert.ok(machine.ports.length > 0, 'at least one ssh port');
      assert.ok(machine.sshUser, 'ssh user is set');
      assert.equal(machine.labels[LABEL.lease], leaseId);
      if (fx.provider.capabilities.injectsHostKey) assert.equal(machine.hostKey.trim(), spec.hostKey.publicKey.trim());
      await fx.reachable(machine);
    });

    test('create reports the provider id before it returns', async (fx) => {
      const leaseId = newLeaseId();
      const seen: string[] = [];
      const machine = await fx.provider.create(await fx.spec(leaseId), { onProviderId: (id) => void seen.push(id) });
      created.push(machine.providerId);
      // A provider may replace a machine that failed to start (after deleting it): the last id reported is the one.
      assert.equal(seen.at(-1), machine.providerId);
      for (const replaced of seen.slice(0, -1)) assert.equal(await fx.provider.get(replaced), undefined, `replaced machine ${replaced} is gone`);
    });

    test('create is idempotent by lease id', async (fx) => {
      const leaseId = newLeaseId();
      const spec = await fx.spec(leaseId);
      const first = await fx.provider.create(spec);
      created.push(first.providerId);
      const second = await fx.provider.create(spec);
      assert.equal(second.providerId, first.providerId);
      const listed = await fx.provider.list({ [LABEL.lease]: leaseId });
      assert.equal(listed.length, 1);
    });

    test('list filters by labels and get finds by id', async (fx) => {
      const a = newLeaseId();
      const b = newLeaseId();
      const ma = await fx.provider.create(await fx.spec(a));
      created.push(ma.providerId);
      const mb = await fx.provider.create(await fx.spec(b));
      created.push(mb.providerId);
      const onlyA = await fx.provider.list({ [LABEL.lease]: a });
      assert.deepEqual(onlyA.map((m) => m.providerId), [ma.providerId]);
      const all = await fx.provider.list({ [LABEL.marker]: 'true' });
      for (const id of [ma.providerId, mb.providerId]) assert.ok(all.some((m) => m.providerId === id));
      const got = await fx.provider.get(mb.providerId);
      assert.equal(got?.labels[LABEL.lease], b);
    });

    test('setLabels replaces lease labels', async (fx) => {
      const leaseId = newLeaseId();
      const machine = await fx.provider.create(await fx.spec(leaseId));
      created.push(machine.providerId);
      await fx.provider.setLabels(machine.providerId, { ...machine.labels, [LABEL.state]: 'released', [LABEL.keep]: 'true' });
      const got = await fx.provider.get(machine.providerId);
      assert.equal(got?.labels[LABEL.state], 'released');
      assert.equal(got?.labels[LABEL.keep], 'true');
      assert.equal(got?.labels[LABEL.slug], baseSlug(leaseId));
    });

    test('delete removes the machine and a second delete says already-gone', async (fx) => {
      const leaseId = newLeaseId();
      const machine = await fx.provider.create(await fx.spec(leaseId));
      assert.equal(await fx.provider.delete(machine.providerId), 'deleted');
      assert.equal(await fx.provider.delete(machine.providerId), 'already-gone');
      assert.equal(await fx.provider.get(machine.providerId), undefined);
      assert.deepEqual(await fx.provider.list({ [LABEL.lease]: leaseId }), []);
    });

    test('get and delete of an unknown id are not errors', async (fx) => {
      const unknown = fx.provider.name === 'local' ? 'cbx_000000000000' : '999999999';
      assert.equal(await fx.provider.get(unknown), undefined);
      assert.equal(await fx.provider.delete(unknown), 'already-gone');
    });

    test('sweepDangling exists exactly when the capability says so and never touches a live lease', async (fx) => {
      const { provider } = fx;
      assert.equal(typeof provider.sweepDangling === 'function', provider.capabilities.danglingObjects, 'capabilities.danglingObjects matches the port');
      if (!provider.sweepDangling) return;
      const leaseId = newLeaseId();
      const machine = await provider.create(await fx.spec(leaseId));
      created.push(machine.providerId);
      const report = await provider.sweepDangling({ installation: machine.labels[LABEL.installation] ?? 'test', minAgeMs: 0 });
      assert.ok(!report.deleted.some((d) => d.leaseId === leaseId), 'objects of a lease whose machine exists are kept');
      assert.ok((await provider.get(machine.providerId)) !== undefined);
    });
  });
}

/** A spec with the labels every machine carries; providers' fixtures build on it. */
export function baseSpec(leaseId: string, keys: { sshPublicKey: string; hostKey: { privateKey: string; publicKey: string } }, extra: Record<string, string> = {}): MachineSpec {
  const now = Math.floor(systemClock.now() / 1000);
  return {
    leaseId,
    slug: baseSlug(leaseId),
    sshPublicKey: keys.sshPublicKey,
    hostKey: keys.hostKey,
    labels: {
      [LABEL.marker]: 'true',
      [LABEL.lease]: leaseId,
      [LABEL.slug]: baseSlug(leaseId),
      [LABEL.owner]: 'contract',
      [LABEL.org]: 'contract',
      [LABEL.state]: 'active',
      [LABEL.keep]: 'false',
      [LABEL.created]: String(now),
      [LABEL.touched]: String(now),
      [LABEL.ttl]: '5400',
      [LABEL.idle]: '1800',
      [LABEL.expires]: String(now + 1800),
      [LABEL.installation]: 'contract',
      ...extra,
    },
  };
}

/** Connects to host:port and resolves with the first line the server sends (an SSH server: `SSH-2.0-…`). */
export function sshBanner(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    const timer = systemClock.setTimeout(() => done(new Error(`no banner from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const done = (error?: Error): void => {
      timer.cancel();
      socket.destroy();
      if (error) reject(error);
      else resolve(text.split(/\r?\n/)[0] ?? '');
    };
    socket.on('data', (b: Buffer) => {
      text += b.toString('latin1');
      if (text.includes('\n')) done();
    });
    socket.on('error', (error) => done(error));
    socket.on('end', () => done(new Error(`${host}:${port} closed without a banner`)));
  });
}

/** The `reachable` check for providers with a real box: an SSH server answers on the reported host and first port. */
export async function answersSsh(machine: Machine): Promise<void> {
  const banner = await sshBanner(machine.host, machine.ports[0]!);
  assert.match(banner, /^SSH-2\.0-/, `${machine.host}:${machine.ports[0]} answers as an SSH server`);
}

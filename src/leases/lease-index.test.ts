import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { findIndexed, listIndex, readIndexEntry, writeIndexEntry, type IndexEntry } from './lease-index.ts';
import { pruneIndex } from './index-prune.ts';
import { saveTouched } from './touched.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import type { Machine } from '../providers/provider.ts';

const entry = (over: Partial<IndexEntry> = {}): IndexEntry => ({ id: 'cbx_0123456789ab', provider: 'ssh', slug: 'blue-crab', providerId: 'cbx_0123456789ab', createdAt: 1000, ...over });

describe('lease index', () => {
  it('writes lease.json 0600 atomically beside the keys, replaces it whole, and reads it back by id and slug', async () => {
    const dir = tempDir();
    try {
      await writeIndexEntry(dir.path, entry());
      const file = join(dir.path, 'leases', 'cbx_0123456789ab', 'lease.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      await writeIndexEntry(dir.path, entry({ slug: 'red-crab' }));
      assert.deepEqual(readdirSync(join(dir.path, 'leases', 'cbx_0123456789ab')), ['lease.json'], 'no temp file left behind');
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as IndexEntry).slug, 'red-crab');
      assert.equal((await readIndexEntry(dir.path, 'cbx_0123456789ab'))?.provider, 'ssh');
      assert.equal((await findIndexed(dir.path, { kind: 'slug', value: 'red-crab' }))?.id, 'cbx_0123456789ab');
      assert.equal(await findIndexed(dir.path, { kind: 'slug', value: 'blue-crab' }), undefined);
    } finally {
      dir.remove();
    }
  });

  it('refuses hostile ids, slugs, provider names and provider ids without writing anything', async () => {
    const dir = tempDir();
    try {
      for (const bad of [
        entry({ id: '../../etc' }),
        entry({ id: 'cbx_0123456789ab/../x' }),
        entry({ slug: '-oProxyCommand=x' }),
        entry({ provider: 'ssh; rm -rf /' }),
        entry({ providerId: '-oProxyCommand=touch /tmp/x' }),
        entry({ createdAt: Number.NaN }),
      ]) {
        await assert.rejects(writeIndexEntry(dir.path, bad), /malformed lease index entry/);
      }
      assert.deepEqual(readdirSync(dir.path), []);
      assert.equal(await readIndexEntry(dir.path, '../../etc'), undefined);
    } finally {
      dir.remove();
    }
  });

  it('treats a torn, foreign or mismatched file as no entry (the index is only a hint)', async () => {
    const dir = tempDir();
    try {
      const a = join(dir.path, 'leases', 'cbx_aaaaaaaaaaaa');
      const b = join(dir.path, 'leases', 'cbx_bbbbbbbbbbbb');
      mkdirSync(a, { recursive: true });
      mkdirSync(b, { recursive: true });
      writeFileSync(join(a, 'lease.json'), '{"id":"cbx_aaaa');
      writeFileSync(join(b, 'lease.json'), JSON.stringify(entry({ id: 'cbx_aaaaaaaaaaaa' })));
      assert.equal(await readIndexEntry(dir.path, 'cbx_aaaaaaaaaaaa'), undefined);
      assert.equal(await readIndexEntry(dir.path, 'cbx_bbbbbbbbbbbb'), undefined);
      assert.deepEqual(await listIndex(dir.path), []);
    } finally {
      dir.remove();
    }
  });

  it('prune removes entries (and key dirs) whose machine is gone, keeps live ones and those of an unreachable provider', async () => {
    const dir = tempDir();
    try {
      const fake = new FakeProvider({ name: 'hetzner' });
      fake.machines.set('live-1', { providerId: 'live-1' } as Machine);
      await writeIndexEntry(dir.path, entry({ id: 'cbx_bbbbbbbbbbbb', providerId: 'live-1', provider: 'hetzner' }));
      await writeIndexEntry(dir.path, entry({ id: 'cbx_aaaaaaaaaaaa', providerId: 'gone-1', provider: 'hetzner' }));
      await writeIndexEntry(dir.path, entry({ id: 'cbx_cccccccccccc', providerId: 'gone-2', provider: 'aws' }));
      const removed = await pruneIndex({
        stateDir: dir.path,
        providerFor: async (name) => {
          if (name === 'aws') throw new Error('no credentials');
          return fake;
        },
      });
      assert.deepEqual(removed, ['cbx_aaaaaaaaaaaa']);
      assert.deepEqual(readdirSync(join(dir.path, 'leases')).sort(), ['cbx_bbbbbbbbbbbb', 'cbx_cccccccccccc']);
    } finally {
      dir.remove();
    }
  });

  it('the sweep before a command asks nothing about a lease last touched here as active and unexpired; cleanup does', async () => {
    const dir = tempDir();
    try {
      const fake = new FakeProvider({ name: 'hetzner' });
      const id = 'cbx_dddddddddddd';
      await writeIndexEntry(dir.path, entry({ id, providerId: 'gone-3', provider: 'hetzner' }));
      saveTouched(dir.path, {
        id, slug: 'blue-lobster', owner: 'me', org: 'local', provider: 'hetzner', state: 'active', keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 600,
        createdAt: 1_000, lastTouchedAt: 1_000, expiresAt: 601_000, installation: 'cli', machineStatus: 'running',
        machine: { provider: 'hetzner', providerId: 'gone-3', host: '203.0.113.9', ports: [22], sshUser: 'root', workRoot: '/work', hostKey: 'ssh-ed25519 AAAA' },
      });
      const prune = (trustTouched?: { now: number }) => pruneIndex({ stateDir: dir.path, providerFor: async () => fake, trustTouched, dryRun: true });
      assert.deepEqual(await prune({ now: 2_000 }), []);
      assert.equal(fake.calls.filter((c) => c.op === 'get').length, 0, 'no provider call');
      assert.deepEqual(await prune({ now: 601_000 }), [id], 'past its recorded expiry it is asked about');
      assert.deepEqual(await prune(), [id], 'cleanup asks at once');
    } finally {
      dir.remove();
    }
  });
});

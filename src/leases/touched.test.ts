import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { leaseKeyDir } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';
import { loadTouched, retouchAfterMs, saveTouched, touchedRecently } from './touched.ts';

const tmp = tempDir('crabbox-touched-');
after(() => tmp.remove());

const ID = 'cbx_0123456789ab';
const lease = (over: Partial<DirectLease> = {}): DirectLease => ({
  id: ID, slug: 'blue-lobster', owner: 'me', org: 'local', provider: 'local', state: 'active', keep: false, ttlSeconds: 5400, idleTimeoutSeconds: 1800,
  createdAt: 1_000_000, lastTouchedAt: 1_000_000, expiresAt: 1_000_000 + 1_800_000, installation: 'cli', machineStatus: 'running',
  machine: { provider: 'local', providerId: ID, host: '127.0.0.1', ports: [2222], sshUser: 'cbx', workRoot: '/var/tmp/boxes/x', hostKey: 'ssh-ed25519 AAAA' },
  ...over,
});

test('a saved lease reads back as saved, 0600, beside its keys', () => {
  const stateDir = join(tmp.path, 'a');
  mkdirSync(leaseKeyDir(stateDir, ID), { recursive: true });
  saveTouched(stateDir, lease());
  assert.deepEqual(loadTouched(stateDir, ID), lease());
  assert.equal(statSync(join(leaseKeyDir(stateDir, ID), 'touched.json')).mode & 0o777, 0o600);
});

test('without its key folder nothing is written and nothing is read; no error either way', () => {
  const stateDir = join(tmp.path, 'none');
  saveTouched(stateDir, lease());
  assert.equal(loadTouched(stateDir, ID), undefined);
  assert.equal(loadTouched(stateDir, '../../etc'), undefined);
});

test('a file that is not one of ours, or names another lease, reads as absent', () => {
  const stateDir = join(tmp.path, 'bad');
  const file = join(leaseKeyDir(stateDir, ID), 'touched.json');
  mkdirSync(leaseKeyDir(stateDir, ID), { recursive: true });
  saveTouched(stateDir, lease());
  const good = JSON.parse(readFileSync(file, 'utf8')) as { format: string; lease: DirectLease };
  const variants: unknown[] = [
    '{',
    { ...good, format: 'crabbox-touched/0' },
    { ...good, lease: { ...good.lease, id: 'cbx_ffffffffffff' } },
    { ...good, lease: { ...good.lease, state: 'gone' } },
    { ...good, lease: { ...good.lease, expiresAt: 'soon' } },
    { ...good, lease: { ...good.lease, machine: { ...good.lease.machine, ports: [] } } },
    { ...good, lease: { ...good.lease, machine: { ...good.lease.machine, ports: [70000] } } },
    { ...good, lease: { ...good.lease, machine: undefined } },
  ];
  for (const v of variants) {
    writeFileSync(file, typeof v === 'string' ? v : JSON.stringify(v));
    assert.equal(loadTouched(stateDir, ID), undefined, JSON.stringify(v).slice(0, 120));
  }
});

test('recent means active, unexpired and touched within a tenth of the idle timeout', () => {
  const l = lease();
  const window = retouchAfterMs(l.idleTimeoutSeconds);
  assert.equal(window, 180_000);
  assert.equal(touchedRecently(l, l.lastTouchedAt), true);
  assert.equal(touchedRecently(l, l.lastTouchedAt + window - 1), true);
  assert.equal(touchedRecently(l, l.lastTouchedAt + window), false);
  assert.equal(touchedRecently(l, l.lastTouchedAt - 1), false, 'a clock that went back proves nothing');
  assert.equal(touchedRecently({ ...l, state: 'released' }, l.lastTouchedAt), false);
  assert.equal(touchedRecently({ ...l, state: 'provisioning' }, l.lastTouchedAt), false);
  assert.equal(touchedRecently({ ...l, expiresAt: l.lastTouchedAt + 10 }, l.lastTouchedAt + 10), false, 'at its TTL cap');
});

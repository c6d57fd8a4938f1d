import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeProvider } from './fake/fake-provider.ts';
import { lazyProvider } from './lazy.ts';
import { CLOUD_CAPABILITIES } from './cloud-capabilities.ts';

test('a lazy provider loads its implementation on the first call, once, and forwards every call', async () => {
  const real = new FakeProvider({ name: 'aws' });
  let loads = 0;
  const lazy = lazyProvider('aws', CLOUD_CAPABILITIES, async () => {
    loads++;
    return real;
  });
  assert.equal(lazy.name, 'aws');
  assert.equal(lazy.capabilities, CLOUD_CAPABILITIES);
  assert.equal(loads, 0, 'nothing loaded for its name and capabilities');
  assert.equal(await lazy.get('i-0123'), undefined);
  assert.deepEqual(await lazy.list({ crabbox: 'true' }), []);
  assert.equal(await lazy.delete('i-0123'), 'already-gone');
  assert.equal(loads, 1);
  assert.deepEqual(real.calls.map((c) => c.op), ['get', 'list', 'delete']);
  assert.equal(typeof lazy.sweepDangling, 'function', 'present exactly when the capabilities say so');
});

test('a failed load is every call\'s error; a provider without dangling objects has no sweep', async () => {
  const lazy = lazyProvider('aws', CLOUD_CAPABILITIES, () => Promise.reject(new Error('no SDK')));
  await assert.rejects(lazy.get('i-1'), /no SDK/);
  await assert.rejects(lazy.setLabels('i-1', {}), /no SDK/);
  assert.equal(lazyProvider('ssh', { ...CLOUD_CAPABILITIES, danglingObjects: false }, async () => new FakeProvider()).sweepDangling, undefined);
});

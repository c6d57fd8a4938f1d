import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { providerFor } from './registry.ts';
import { loadConfig } from '../config/load.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';

const tmp = tempDir();
after(() => tmp.remove());
const env = isolatedEnv(tmp.path);
const config = (provider: string) => loadConfig({ env, cwd: tmp.path, noRepo: true, flags: { provider } });

describe('provider registry', () => {
  it('defaults to the local provider', async () => {
    assert.equal((await providerFor(loadConfig({ env, cwd: tmp.path, noRepo: true }))).name, 'local');
  });

  it('builds hetzner only with a token from the environment', async () => {
    await assert.rejects(providerFor(config('hetzner'), { env }), /HCLOUD_TOKEN or HETZNER_TOKEN is required/);
    const provider = await providerFor(config('hetzner'), { env: { ...env, HCLOUD_TOKEN: 'test-token-value-123' } });
    assert.equal(provider.name, 'hetzner');
    assert.equal(provider.capabilities.billable, true);
  });

  it('builds aws from the credential chain without calling AWS', async () => {
    const provider = await providerFor(config('aws'), { env: { ...env, AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE', AWS_SECRET_ACCESS_KEY: 'fake' } });
    assert.equal(provider.name, 'aws');
  });

  it('builds the static ssh provider only with hosts configured, before any ssh runs', async () => {
    await assert.rejects(providerFor(config('ssh')), (e: Error & { code?: string }) => e.code === 'invalid_config' && /needs at least one host in static.hosts/.test(e.message));
  });
});

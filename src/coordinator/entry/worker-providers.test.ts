import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCrabboxError } from '../../domain/errors.ts';
import { systemClock } from '../../domain/clock.ts';
import { FakeEc2 } from '../../providers/aws/fake/server.ts';
import { startFakeHetzner, type RunningFakeHetzner } from '../../providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../providers/hetzner/fake/keys.ts';
import { stopWorkerd, workerFetch } from '../../testing/workerd.ts';
import { coordinatorConfig } from '../config.ts';
import { workerSettings } from './worker-config.ts';

const TOKEN = 'worker-providers-shared-token-0123456789';

describe('Worker config: one line for what the Worker cannot do', () => {
  const refused = (bindings: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => workerSettings({ CRABBOX_SHARED_TOKEN: TOKEN, ...bindings }), (e: Error) => isCrabboxError(e) && e.code === 'invalid_config' && message.test(e.message) && !e.message.includes('\n'));

  it('local and ssh are Node-only, warm pools too; server-only keys and bad JSON are refused', () => {
    refused({ CRABBOX_CONFIG: { providers: ['local'] } }, /^provider local runs only on Node \(`crabbox coordinator serve`\)/);
    refused({ CRABBOX_CONFIG: JSON.stringify({ providers: ['hetzner', 'ssh'] }) }, /^provider ssh runs only on Node/);
    refused({ CRABBOX_CONFIG: { providers: ['gcp'] } }, /^provider "gcp" is not available on Workers; available: hetzner, aws, fake/);
    refused({ CRABBOX_CONFIG: { pools: { warm: { provider: 'hetzner', size: 1 } } } }, /^warm pools run only on Node/);
    refused({ CRABBOX_CONFIG: { database: '/var/lib/x.db' } }, /^CRABBOX_CONFIG: .*database|Unrecognized key/);
    refused({ CRABBOX_CONFIG: '{not json' }, /^CRABBOX_CONFIG is not valid JSON$/);
  });

  it('takes the same settings as the Node coordinator: the file keys from CRABBOX_CONFIG, secrets from bindings', () => {
    const s = workerSettings({ CRABBOX_SHARED_TOKEN: TOKEN, CRABBOX_COORDINATOR_ADMINS: 'root', CRABBOX_CONFIG: { providers: ['hetzner', 'aws'], caps: { activeLeases: { owner: 3 } }, hetzner: { location: 'fsn1' } } });
    assert.deepEqual(s.providers, ['hetzner', 'aws']);
    assert.equal(s.config.defaultProvider, 'hetzner');
    assert.equal(s.config.auth.sharedToken, TOKEN);
    assert.deepEqual(s.config.auth.admins, ['root']);
    assert.equal(s.config.caps.activeLeases.owner, 3);
    assert.equal(s.file.hetzner?.location, 'fsn1');
  });

  it('tunnel mode on the Worker: the section from CRABBOX_CONFIG, the Cloudflare API token from a Worker secret', () => {
    const tunnel = { accountId: '0123456789abcdef0123456789abcdef', zoneId: 'fedcba9876543210fedcba9876543210', domain: 'boxes.example.com', providers: ['hetzner'] };
    const s = workerSettings({ CRABBOX_SHARED_TOKEN: TOKEN, CLOUDFLARE_API_TOKEN: 'cf-api-token-worker-0123456789', CRABBOX_CONFIG: { providers: ['hetzner'], tunnel } });
    assert.equal(s.config.tunnel?.domain, 'boxes.example.com');
    assert.equal(s.config.tunnel?.apiToken, 'cf-api-token-worker-0123456789');
    assert.throws(() => workerSettings({ CRABBOX_SHARED_TOKEN: TOKEN, CRABBOX_CONFIG: { providers: ['hetzner'], tunnel } }), /tunnel mode needs a Cloudflare API token/);
  });
});

describe('cloud providers from inside workerd', () => {
  let hetzner: RunningFakeHetzner;
  let ec2: FakeEc2;
  before(async () => {
    hetzner = await startFakeHetzner({ clock: systemClock, createActionMs: 200, detachMs: 200 });
    ec2 = await new FakeEc2({ clock: systemClock, propagation: { instance: 100, keyPair: 100, group: 100 }, ipAfterDescribes: 1 }).start();
  });
  after(async () => {
    await stopWorkerd();
    await hetzner.close();
    await ec2.stop();
  });

  const fleet = `providers-${process.pid}`;
  const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    workerFetch(`http://worker.test${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json', 'x-crabbox-test-fleet': fleet, ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it('Hetzner over fetch and AWS through the AWS SDK (SigV4 in workerd) create and delete their machines', async () => {
    const init = await call('/__test/init', {
      config: coordinatorConfig({ installation: 'workerd-clouds', defaultProvider: 'hetzner', auth: { sharedToken: TOKEN } }), now: Date.now(), clock: 'system', providers: ['hetzner', 'aws'],
      env: { HCLOUD_TOKEN: hetzner.token, AWS_ACCESS_KEY_ID: 'AKIDWORKERFAKE0001', AWS_SECRET_ACCESS_KEY: 'worker-fake-secret-0123456789' },
      file: { hetzner: { apiUrl: hetzner.url }, aws: { region: 'us-east-1', endpoint: ec2.url, ipWait: '30s' }, classes: { standard: { aws: ['c7a.2xlarge'] } } },
    });
    assert.equal(init.status, 200, await init.text());
    const auth = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'alice' };
    for (const provider of ['hetzner', 'aws']) {
      const res = await call('/v1/leases', { provider, sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 900, callerCidr: '203.0.113.7/32' }, auth);
      const body = (await res.json()) as { lease: { id: string; state: string; provider: string } };
      assert.equal(res.status, 201, `${provider}: ${JSON.stringify(body)}`);
      assert.deepEqual([body.lease.provider, body.lease.state], [provider, 'active']);
      assert.equal((await call(`/v1/leases/${body.lease.id}/release`, {}, auth)).status, 200);
    }
    assert.equal(hetzner.state.servers.size, 0, 'the Hetzner server is gone');
    const live = [...ec2.account.instances.values()].filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down');
    assert.equal(live.length, 0, 'the EC2 instance is terminated');
    assert.ok(ec2.account.instances.size >= 1, 'an instance was really launched (sanity)');
  });
});

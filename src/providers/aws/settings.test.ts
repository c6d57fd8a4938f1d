import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';
import { tempDir, isolatedEnv } from '../../testing/tmp.ts';
import { baseSpec } from '../provider.contract.ts';
import { resolveAwsSettings } from './settings.ts';
import { createAwsProvider } from './factory.ts';
import { FakeEc2 } from './fake/server.ts';

const dir = tempDir();
after(() => dir.remove());

function configWith(yaml: string, name: string): { env: NodeJS.ProcessEnv; cwd: string } {
  const root = join(dir.path, name);
  mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
  mkdirSync(join(root, 'repo', '.git'), { recursive: true });
  writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), yaml);
  return { env: isolatedEnv(root), cwd: join(root, 'repo') };
}

describe('aws settings', () => {
  it('defaults, user config, then CRABBOX_AWS_* env on top', () => {
    const { env, cwd } = configWith('aws:\n  region: us-east-2\n  types: [c7i.4xlarge, c7a.4xlarge]\n  rootVolumeGiB: 200\n  sshCidrs: [198.51.100.0/24]\n  ipWait: 2m\n', 'layered');
    const config = loadConfig({ env, cwd });
    const fromConfig = resolveAwsSettings(config.aws, env);
    assert.deepEqual({ region: fromConfig.region, types: fromConfig.types, root: fromConfig.rootVolumeGiB, cidrs: fromConfig.sshCidrs, wait: fromConfig.ipWaitMs, market: fromConfig.market }, { region: 'us-east-2', types: ['c7i.4xlarge', 'c7a.4xlarge'], root: 200, cidrs: ['198.51.100.0/24'], wait: 120_000, market: 'spot' });
    const fromEnv = resolveAwsSettings(config.aws, { ...env, CRABBOX_AWS_REGION: 'ap-southeast-2', CRABBOX_AWS_SSH_CIDRS: '203.0.113.7/32' });
    assert.equal(fromEnv.region, 'ap-southeast-2');
    assert.deepEqual(fromEnv.sshCidrs, ['203.0.113.7/32']);
    assert.equal(resolveAwsSettings(undefined, {}).region, 'eu-west-1');
  });

  it('refuses bad values with one line naming the key', () => {
    for (const [yaml, pattern] of [
      ['aws:\n  region: "eu west"\n', /aws\.region: expected an AWS region/],
      ['aws:\n  types: ["c7a 2xlarge"]\n', /aws\.types\.0: expected an EC2 instance type/],
      ['aws:\n  accessKeyId: AKIAIOSFODNN7EXAMPLE\n', /unknown key "aws\.accessKeyId"/],
      ['aws:\n  securityGroupName: sg-123\n', /aws\.securityGroupName/],
    ] as const) {
      const { env, cwd } = configWith(yaml, `bad-${Math.random().toString(16).slice(2)}`);
      assert.throws(() => loadConfig({ env, cwd }), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && pattern.test(e.message) && !e.message.includes('\n'), yaml);
    }
    assert.throws(() => resolveAwsSettings({ sshCidrs: ['0.0.0.0/0'] }, {}), /aws\.sshCidrs: 0\.0\.0\.0\/0 would open SSH/);
    assert.throws(() => resolveAwsSettings(undefined, { CRABBOX_AWS_SSH_CIDRS: '::/0' }), /CRABBOX_AWS_SSH_CIDRS/);
    assert.throws(() => resolveAwsSettings(undefined, { CRABBOX_AWS_REGION: 'mars' }), /CRABBOX_AWS_REGION/);
    assert.throws(() => resolveAwsSettings({ endpoint: 'http://ec2.example.com' }, {}), /https/);
  });

  it('a repository cannot configure AWS', () => {
    const { env, cwd } = configWith('{}\n', 'repo');
    writeFileSync(join(cwd, '.crabbox.yaml'), 'aws:\n  endpoint: https://evil.example.com\n');
    assert.throws(() => loadConfig({ env, cwd }), (e: unknown) => isCrabboxError(e) && /unknown key "aws"/.test(e.message));
  });

  it('the factory signs with credentials from the AWS chain (env) and the secret is redacted', async (t) => {
    const fake = await new FakeEc2().start();
    t.after(() => fake.stop());
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDCHAINCHAINCHAIN';
    process.env.AWS_SECRET_ACCESS_KEY = 'chain-secret-value-0123456789';
    t.after(() => {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    const settings = resolveAwsSettings({ endpoint: fake.url, region: 'us-east-1' }, process.env);
    assert.equal(redact('leaked chain-secret-value-0123456789 here'), 'leaked [redacted] here');
    const provider = createAwsProvider(settings, { userData: () => '#cloud-config\n', sshPorts: [2222, 22] });
    const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZhY3Rvcnk user@host', hostKey: { privateKey: 'x', publicKey: 'ssh-ed25519 AAAAhost root@box' } };
    const m = await provider.create({ ...baseSpec('cbx_0000000000f1', keys), allowedCidrs: ['203.0.113.7/32'] });
    assert.equal(m.provider, 'aws');
    assert.ok(fake.requests.length > 0);
    assert.ok(fake.requests.every((r) => r.accessKeyId === 'AKIDCHAINCHAINCHAIN'), 'every request signed with the chain credentials');
    assert.equal(await provider.delete(m.providerId), 'deleted');
  });
});

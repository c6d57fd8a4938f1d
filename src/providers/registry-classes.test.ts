import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { providerFor } from './registry.ts';
import { baseSpec } from './provider.contract.ts';
import { DEFAULT_CLASSES } from './classes.ts';
import { loadConfig } from '../config/load.ts';
import { ManualClock } from '../domain/clock.ts';
import { newLeaseId } from '../domain/ids.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { FakeEc2 } from './aws/fake/server.ts';
import { q } from './aws/fake/query.ts';
import { startFakeHetzner } from './hetzner/fake/serve.ts';
import { generateKeyPair } from './hetzner/fake/keys.ts';

/**
 * The provider is built once (by the coordinator, or per CLI run) from the operator's config; the class comes with
 * each create. So `--class beast` must launch beast types whatever class the provider was built with: one rule
 * for every provider (issue 11 item 6: AWS used to fix its types at construction).
 */
describe('provider registry: the machine class is resolved per create request', () => {
  const tmp = tempDir();
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  before(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDCLASSESCLASSES';
    process.env.AWS_SECRET_ACCESS_KEY = 'classes-secret-value-0123456789';
  });
  after(() => {
    tmp.remove();
    for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const keys = () => ({ sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') });

  const awsSetup = async (name: string, yaml: string) => {
    const clock = new ManualClock();
    const fake = await new FakeEc2({ clock }).start();
    const env = { ...isolatedEnv(join(tmp.path, name)), CRABBOX_CONFIG: join(tmp.path, `${name}.yaml`) };
    writeFileSync(env.CRABBOX_CONFIG, `aws:\n  endpoint: ${fake.url}\n  region: us-east-1\n  sshCidrs: [203.0.113.7/32]\n${yaml}`, { mode: 0o600 });
    // Built with the config's own class (standard), exactly as the coordinator builds it at start.
    const provider = await providerFor(loadConfig({ env, cwd: tmp.path, noRepo: true, flags: { provider: 'aws' } }), { env, clock });
    const stop = clock.autoAdvance();
    const firstType = () => q.str(fake.judged('RunInstances')[0]?.InstanceType);
    return { fake, provider, firstType, close: async () => (stop(), await fake.stop()) };
  };

  it('aws: a create asking for class beast launches the beast list, whatever the provider was built with', async () => {
    const s = await awsSetup('aws-beast', '');
    try {
      const machine = await s.provider.create({ ...baseSpec(newLeaseId(), keys()), class: 'beast' });
      assert.equal(s.firstType(), DEFAULT_CLASSES.beast!.aws![0]);
      assert.equal(machine.type, DEFAULT_CLASSES.beast!.aws![0]);
    } finally {
      await s.close();
    }
  });

  it('aws: no class means the default class; aws.types replaces only the default class list', async () => {
    const s = await awsSetup('aws-types', '  types: [c7i.4xlarge]\n');
    try {
      await s.provider.create(baseSpec(newLeaseId(), keys()));
      assert.equal(s.firstType(), 'c7i.4xlarge');
      s.fake.requests.length = 0;
      await s.provider.create({ ...baseSpec(newLeaseId(), keys()), class: 'fast' });
      assert.equal(s.firstType(), DEFAULT_CLASSES.fast!.aws![0]);
      s.fake.requests.length = 0;
      await s.provider.create({ ...baseSpec(newLeaseId(), keys()), class: 'beast', type: 'm7i.2xlarge' });
      assert.equal(s.firstType(), 'm7i.2xlarge', 'an explicit --type wins over the class');
    } finally {
      await s.close();
    }
  });

  it('aws: an unknown class is a bad request naming the known ones, and nothing is created', async () => {
    const s = await awsSetup('aws-unknown', '');
    try {
      await assert.rejects(s.provider.create({ ...baseSpec(newLeaseId(), keys()), class: 'huge' }), (e: unknown) => isCrabboxError(e) && e.code === 'bad_request' && /unknown machine class "huge"/.test(e.message));
      assert.deepEqual(s.fake.requests.filter((r) => r.action !== 'DescribeInstances'), []);
    } finally {
      await s.close();
    }
  });

  it('hetzner: the same rule', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHetzner({ clock });
    const stop = clock.autoAdvance();
    try {
      const env = { ...isolatedEnv(join(tmp.path, 'hz')), HCLOUD_TOKEN: fake.token, CRABBOX_CONFIG: join(tmp.path, 'hz.yaml') };
      writeFileSync(env.CRABBOX_CONFIG, `hetzner:\n  apiUrl: ${fake.url}\n  locations: [fsn1]\n`, { mode: 0o600 });
      const provider = await providerFor(loadConfig({ env, cwd: tmp.path, noRepo: true, flags: { provider: 'hetzner' } }), { env, clock });
      const machine = await provider.create({ ...baseSpec(newLeaseId(), keys()), class: 'beast' });
      assert.equal(machine.type, DEFAULT_CLASSES.beast!.hetzner![0]);
    } finally {
      stop();
      await fake.close();
    }
  });
});

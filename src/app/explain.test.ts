import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../domain/exit-codes.ts';
import { runBin, runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';

/** A loopback port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('cloud API failures are put in the user\'s terms', () => {
  const dir = tempDir('crabbox-explain-');
  let env: NodeJS.ProcessEnv;
  let port = 0;
  const repo = join(dir.path, 'repo');
  before(async () => {
    port = await closedPort();
    env = isolatedEnv(dir.path, { HCLOUD_TOKEN: 'hcloud-test-token-0123456789', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir.path, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir.path, 'none') });
    mkdirSync(join(dir.path, 'config', 'crabbox'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir.path, 'config', 'crabbox', 'config.yaml'), `hetzner:\n  apiUrl: http://127.0.0.1:${port}/v1\naws:\n  region: eu-west-1\n  endpoint: http://127.0.0.1:${port}\n`, { mode: 0o600 });
    mkdirSync(repo);
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'README'), 'x\n');
  });
  after(() => dir.remove());

  it('Hetzner unreachable: exit 69 with a network hint, not "internal error ... report it"', async () => {
    for (const argv of [['list', '--provider', 'hetzner'], ['run', '--provider', 'hetzner', '--', 'true']]) {
      const res = await runCli(argv, { env, cwd: repo });
      assert.equal(res.code, ExitCode.unavailable, `${argv.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /crabbox: cannot reach the Hetzner Cloud API \(network failure\): hetzner GET \/servers.*; check your network connection/);
      assert.doesNotMatch(res.stderr, /internal error|report it/);
    }
  });

  // The AWS SDK reads credentials from the process environment, so these run the built bin with exactly this env.
  it('AWS without credentials: exit 78 and how to set them, not "CredentialsProviderError: [redacted]"', async () => {
    const res = await runBin(['list', '--provider', 'aws'], { env, cwd: repo });
    assert.equal(res.code, ExitCode.config, res.stderr);
    assert.equal(res.stderr, 'crabbox: no AWS credentials found for the aws provider; set AWS_PROFILE (see `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n');
  });

  it('AWS unreachable with credentials: exit 69 with the cause and a network hint', async () => {
    const res = await runBin(['list', '--provider', 'aws'], { env: { ...env, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00', AWS_SECRET_ACCESS_KEY: 'secret-example-0123456789' }, cwd: repo });
    assert.equal(res.code, ExitCode.unavailable, res.stderr);
    assert.match(res.stderr, new RegExp(`crabbox: cannot reach the AWS API: ECONNREFUSED 127\\.0\\.0\\.1:${port}; check your network connection`));
  });
});

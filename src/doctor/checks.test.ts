import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { runChecks } from './checks.ts';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { ExitCode } from '../domain/exit-codes.ts';

describe('doctor', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('passes on this machine with private config modes', async () => {
    const env = isolatedEnv(join(dir.path, 'good'));
    mkdirSync(join(dir.path, 'good', 'config', 'crabbox'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir.path, 'good', 'config', 'crabbox', 'config.yaml'), 'lease:\n  ttl: 1h\n', { mode: 0o600 });
    const result = await runCli(['doctor', '--json'], { env, cwd: dir.path });
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(result.code, 0, result.stdout);
    assert.equal(report.ok, true);
    for (const name of ['node', 'ssh', 'ssh-keygen', 'sshd', 'rsync', 'git', 'config dir', 'config file', 'config']) assert.ok(report.checks.some((c) => c.name === name && c.ok), name);
  });

  it('flags a config dir broader than 0700 and a file broader than 0600, with a fix', async () => {
    const home = join(dir.path, 'loose');
    const env = isolatedEnv(home);
    mkdirSync(join(home, 'config', 'crabbox'), { recursive: true });
    chmodSync(join(home, 'config', 'crabbox'), 0o755);
    writeFileSync(join(home, 'config', 'crabbox', 'config.yaml'), 'lease:\n  keep: true\n', { mode: 0o644 });
    const result = await runCli(['doctor'], { env, cwd: dir.path });
    assert.equal(result.code, ExitCode.config);
    assert.match(result.stdout, /FAIL config dir: .* is 0755, broader than 0700 \(fix: chmod 700 /);
    assert.match(result.stdout, /FAIL config file: .* is 0644, broader than 0600 \(fix: chmod 600 /);
  });

  it('reports a missing program and an old Node as tool failures', () => {
    const checks = runChecks({ env: { PATH: '/nonexistent' }, cwd: dir.path, nodeVersion: '20.11.0' });
    assert.equal(checks.find((c) => c.name === 'node')?.ok, false);
    assert.match(checks.find((c) => c.name === 'rsync')?.fix ?? '', /apt-get install -y rsync/);
  });
});

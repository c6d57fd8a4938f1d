// A warm run in direct mode uses the lease as this computer last touched it when that was moments ago (decision 0063):
// the provider is neither asked nor written, a run a tenth of the idle timeout later touches it again, and a box that
// disappeared behind the CLI's back is still reported the way the provider sees it. Real local provider, built CLI,
// its clock moved with CRABBOX_CLOCK_OFFSET.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runBin } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { initRepo } from '../../src/testing/git.ts';

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('a warm run on a lease touched moments ago (local provider)', () => {
  const root = mkdtempSync('/tmp/crabbox-e2e-warm-touch-');
  const env = isolatedEnv(root);
  const stateDir = join(root, 'state', 'crabbox');
  const repo = join(root, 'repo');
  initRepo(repo, { 'a.txt': 'a\n' });
  after(async () => {
    await runBin(['cleanup'], { env: { ...env, CRABBOX_CLOCK_OFFSET: '3h' } });
    rmSync(root, { recursive: true, force: true });
  });

  const touchedAt = async (slug: string, offset = '0s'): Promise<string> => {
    const status = await runBin(['status', slug, '--json'], { env: { ...env, CRABBOX_CLOCK_OFFSET: offset } });
    assert.equal(status.code, 0, status.stderr);
    return json(status.stdout).lastTouchedAt as string;
  };
  const run = async (slug: string, offset = '0s') => {
    const r = await runBin(['run', '--id', slug, '--', 'true'], { env: { ...env, CRABBOX_CLOCK_OFFSET: offset }, cwd: repo });
    assert.equal(r.code, 0, r.stderr);
  };

  it('is not touched again within a tenth of its idle timeout, and is once that has passed', async () => {
    const warm = await runBin(['warmup', '--json', '--idle-timeout', '10m'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    const { slug, lastTouchedAt } = json(warm.stdout) as { slug: string; lastTouchedAt: string };
    assert.ok(existsSync(join(stateDir, 'leases', json(warm.stdout).id as string, 'touched.json')));

    await run(slug);
    await run(slug, '30s');
    const ssh = await runBin(['ssh', slug, '--', 'true'], { env: { ...env, CRABBOX_CLOCK_OFFSET: '40s' }, cwd: repo });
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.equal(await touchedAt(slug), lastTouchedAt, 'runs and ssh within a minute of the touch leave the labels alone');

    // Ninety seconds on (a tenth of 10m is one minute): the run touches the lease, and the next one does not.
    await run(slug, '90s');
    const retouched = await touchedAt(slug, '90s');
    const moved = Date.parse(retouched) - Date.parse(lastTouchedAt);
    assert.ok(moved >= 89_000 && moved <= 120_000, `touched ${moved} ms after the warmup`);
    await run(slug, '100s');
    assert.equal(await touchedAt(slug, '100s'), retouched);
  });

  it('reports a box removed behind its back as its provider sees it, the same as without the touched lease', async () => {
    const warm = await runBin(['warmup', '--json'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    const { id, slug } = json(warm.stdout) as { id: string; slug: string };
    // The lease is released (its box deleted) while this computer still holds what it knew about it.
    const kept = join(root, 'kept');
    cpSync(join(stateDir, 'leases', id), kept, { recursive: true });
    assert.equal((await runBin(['stop', id], { env })).code, 0);
    cpSync(kept, join(stateDir, 'leases', id), { recursive: true });

    const fast = await runBin(['run', '--id', slug, '--', 'true'], { env, cwd: repo });
    const fastSsh = await runBin(['ssh', slug, '--', 'true'], { env, cwd: repo });
    rmSync(join(stateDir, 'leases', id, 'touched.json'));
    const asked = await runBin(['run', '--id', slug, '--', 'true'], { env, cwd: repo });
    const askedSsh = await runBin(['ssh', slug, '--', 'true'], { env, cwd: repo });
    assert.notEqual(askedSsh.code, 0, askedSsh.stderr);
    assert.deepEqual([fastSsh.code, fastSsh.stderr], [askedSsh.code, askedSsh.stderr], 'ssh: the same answer either way');
    assert.notEqual(asked.code, 0, asked.stderr);
    assert.equal(fast.code, asked.code, fast.stderr);
    const errorLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('crabbox: ') && !l.startsWith('crabbox: sync=') && !/^crabbox: (sync|command)=/.test(l));
    assert.equal(errorLine(fast.stderr), errorLine(asked.stderr), fast.stderr);
    assert.match(fast.stderr, new RegExp(`lease ${id}|no lease`), fast.stderr);
    assert.doesNotMatch(fast.stderr, /ssh to the box failed|Permission denied|Connection refused/, fast.stderr);
  });
});

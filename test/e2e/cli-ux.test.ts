import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runBin } from '../../src/testing/cli.ts';
import { leaseLeftovers } from '../../src/testing/leftovers.ts';
import { startServe } from '../../src/testing/serve.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';

describe('a kept box says how to reuse and stop it; stop takes several (local provider, real sshd)', () => {
  const root = mkdtempSync('/tmp/crabbox-ux-');
  const env = isolatedEnv(root);
  const stateDir = join(root, 'state', 'crabbox');
  const repo = join(root, 'repo');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('warmup and run --keep print `crabbox run --id <slug> -- ...` and `crabbox stop <slug>`; `stop a b` stops both', async () => {
    const warm = await runBin(['warmup'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const [id, slug] = warm.stdout.trim().split(' ') as [string, string];
    assert.match(warm.stderr, new RegExp(`reuse it: crabbox run --id ${slug} -- <command> +\\(shell: crabbox ssh ${slug}; stop it: crabbox stop ${slug}\\)`));

    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'hello.txt'), 'hi\n');
    const reused = await runBin(['run', '--id', slug, '--', 'cat', 'hello.txt'], { env, cwd: repo });
    assert.equal(reused.code, 0, reused.stderr);
    assert.equal(reused.stdout, 'hi\n');
    assert.doesNotMatch(reused.stderr, /reuse it:/, 'a lease named with --id is not "kept" by this run');

    const kept = await runBin(['run', '--keep', '--', 'true'], { env, cwd: repo });
    assert.equal(kept.code, 0, kept.stderr);
    const m = /crabbox: kept (cbx_[0-9a-f]{12}) \(([a-z]+-[a-z]+)\); reuse it: crabbox run --id \2 -- <command> +\(shell: crabbox ssh \2; stop it: crabbox stop \2\)/.exec(kept.stderr);
    assert.ok(m, kept.stderr);
    const [, keptId, keptSlug] = m;

    const stop = await runBin(['stop', slug, keptSlug!], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `released ${id} (${slug})\nreleased ${keptId} (${keptSlug})\n`);
    for (const leaseId of [id, keptId!]) assert.deepEqual(leaseLeftovers({ stateDir, leaseId }), []);
  });
});

describe('the README\'s coordinator section, as written', () => {
  const root = mkdtempSync('/tmp/crabbox-readme-');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('init-secrets makes the two files serve needs; login --token-stdin < the shared-token file works', async () => {
    const env = isolatedEnv(root, { CRABBOX_OWNER: 'readme' });
    const init = await runBin(['coordinator', 'init-secrets'], { env });
    assert.equal(init.code, 0, init.stderr);
    // `eval "$(crabbox coordinator init-secrets)"`: the same export lines through a real shell.
    const exported = execFileSync('sh', ['-c', `${init.stdout}\nprintf '%s\\n%s\\n' "$CRABBOX_SHARED_TOKEN_FILE" "$CRABBOX_SESSION_SECRET_FILE"`], { encoding: 'utf8' }).trim().split('\n');
    const [sharedFile, sessionFile] = exported as [string, string];
    const serveEnv = { ...env, CRABBOX_SHARED_TOKEN_FILE: sharedFile, CRABBOX_SESSION_SECRET_FILE: sessionFile };
    const serve = await startServe(serveEnv, ['--providers', 'local', '--db', join(root, 'coordinator.sqlite')]);
    try {
      assert.doesNotMatch(serve.stderr(), /warning: no CRABBOX_SHARED_TOKEN/);
      const login = await runBin(['login', '--url', serve.url, '--token-stdin'], { env: serveEnv, stdin: readFileSync(sharedFile, 'utf8') });
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /auth\s+shared operator token/);
      const ready = await fetch(`${serve.url}/v1/ready`);
      assert.deepEqual([ready.status, await ready.json()], [200, { ok: true }], 'load balancers need no token');
    } finally {
      await serve.stop();
    }
  });
});

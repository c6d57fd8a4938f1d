import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { coordinatorDeployJson } from '../../api/shapes-setup.ts';
import { redact } from '../../redact/redact.ts';
import { BIN, runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
import { deployCoordinator, parseJsonc, type Runner } from '../coordinator-deploy.ts';

const TEMPLATE = readFileSync(new URL('../../../deploy/wrangler.jsonc', import.meta.url), 'utf8');

/** The template with its CRABBOX_CONFIG replaced. */
const withConfig = (config: unknown): string => TEMPLATE.replace(/"CRABBOX_CONFIG": \{[\s\S]*?\n    \},/, `"CRABBOX_CONFIG": ${JSON.stringify(config)},`);

describe('crabbox coordinator deploy', () => {
  it('--dry-run checks the template, stages the prebuilt Worker and runs wrangler\'s own dry run, without network', async () => {
    const dir = tempDir('crabbox-deploy-');
    try {
      writeFileSync(join(dir.path, 'wrangler.jsonc'), TEMPLATE);
      const res = await runCli(['coordinator', 'deploy', '--dry-run', '--outdir', 'staged', '--json'], { cwd: dir.path, env: isolatedEnv(dir.path) });
      assert.equal(res.code, 0, res.stderr);
      const out = coordinatorDeployJson.parse(JSON.parse(res.stdout));
      assert.deepEqual(out.providers, ['hetzner']);
      assert.deepEqual(out.secrets, [['CRABBOX_SHARED_TOKEN', 'CRABBOX_SESSION_SECRET'], ['HCLOUD_TOKEN', 'HETZNER_TOKEN']]);
      assert.equal(out.dryRun, true);
      const staged = JSON.parse(readFileSync(join(dir.path, 'staged', 'wrangler.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([staged.main, staged.no_bundle, staged.name], ['worker.js', true, 'crabbox-coordinator']);
      assert.ok(existsSync(join(dir.path, 'staged', 'out', 'worker.js')), 'wrangler wrote its dry-run output');
      assert.equal(readFileSync(join(dir.path, 'staged', 'worker.js'), 'utf8'), readFileSync(new URL('../../../dist/worker/worker.js', import.meta.url), 'utf8'), 'the prebuilt bundle is uploaded as it is');
    } finally {
      dir.remove();
    }
  });

  it('Ctrl-C while wrangler runs stops wrangler, removes the temporary staging directory and exits 130 in one line', async () => {
    const dir = tempDir('crabbox-deploy-int-');
    try {
      writeFileSync(join(dir.path, 'wrangler.jsonc'), TEMPLATE);
      const tmp = join(dir.path, 'tmp');
      mkdirSync(tmp);
      const child = spawn(process.execPath, [BIN, 'coordinator', 'deploy', '--dry-run'], { cwd: dir.path, env: { ...isolatedEnv(dir.path), TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      // The staging directory holds wrangler.json once wrangler is about to start; interrupt then.
      const staged = (): string | undefined => readdirSync(tmp).map((d) => join(tmp, d)).find((d) => d.includes('crabbox-deploy-') && existsSync(join(d, 'wrangler.json')));
      // Another process on the real clock: polled, bounded at 30 s.
      for (let i = 0; i < 3000 && !staged(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(staged(), 'the deploy staged its files');
      child.kill('SIGINT');
      assert.equal(await closed, 130, stderr);
      assert.match(stderr, /coordinator deploy interrupted; wrangler was stopped/);
      assert.equal(stderr.trim().split('\n').filter((l) => !l.startsWith('hint:')).length, 1, stderr);
      assert.deepEqual(readdirSync(tmp).filter((d) => d.startsWith('crabbox-deploy-')), [], 'no staging directory is left');
      // wrangler was stopped, not orphaned: no process is left running from (or writing into) the staging directory.
      const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(tmp);
        } catch {
          return false;
        }
      });
      assert.deepEqual(left, []);
    } finally {
      dir.remove();
    }
  });

  it('refuses in one line: Node-only providers, secrets in vars, a missing Durable Object binding, no config', async () => {
    const dir = tempDir('crabbox-deploy-bad-');
    try {
      const cases: [string, RegExp][] = [
        [withConfig({ providers: ['local'] }), /wrangler\.jsonc: provider local runs only on Node/],
        [TEMPLATE.replace('"vars": {', '"vars": { "HCLOUD_TOKEN": "abc",'), /vars\.HCLOUD_TOKEN is a secret; vars are stored in plain text/],
        [TEMPLATE.replace('"class_name": "Fleet"', '"class_name": "Other"'), /durable_objects\.bindings must bind FLEET to the class Fleet/],
        [TEMPLATE.replace('"nodejs_compat"', '"nodejs_als"'), /compatibility_flags must include "nodejs_compat"/],
        ['{ "name": ', /is not valid JSON with comments/],
      ];
      for (const [text, message] of cases) {
        writeFileSync(join(dir.path, 'wrangler.jsonc'), text);
        const res = await runCli(['coordinator', 'deploy', '--dry-run'], { cwd: dir.path, env: isolatedEnv(dir.path) });
        assert.equal(res.code, 78, res.stderr);
        assert.match(res.stderr, message);
        assert.equal(res.stderr.trim().split('\n').filter((l) => !l.startsWith('hint:') && !/^\s/.test(l)).length, 1, res.stderr);
      }
      const none = await runCli(['coordinator', 'deploy', '--dry-run', '--config', 'nope.jsonc'], { cwd: dir.path, env: isolatedEnv(dir.path) });
      assert.equal(none.code, 78);
      assert.match(none.stderr, /no wrangler config at .*nope\.jsonc/);
    } finally {
      dir.remove();
    }
  });

  it('a real deploy checks the Worker\'s secrets first and uploads only when they are all set', async () => {
    const dir = tempDir('crabbox-deploy-secrets-');
    try {
      writeFileSync(join(dir.path, 'wrangler.jsonc'), withConfig({ providers: ['hetzner', 'aws'] }));
      const calls: string[][] = [];
      const fakeWrangler = (secrets: string[]): Runner => async (argv) => {
        calls.push(argv.slice(1, 3));
        if (argv[1] === 'secret') return { code: 0, stdout: JSON.stringify(secrets.map((name) => ({ name, type: 'secret_text' }))), stderr: '' };
        return { code: 0, stdout: 'Deployed crabbox-coordinator', stderr: '' };
      };
      const staging = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('crabbox-deploy-'));
      const before = staging();
      let stagedWhileRunning = '';
      const missing: Runner = async (argv, o) => {
        stagedWhileRunning = o.cwd;
        return fakeWrangler(['CRABBOX_SHARED_TOKEN', 'HCLOUD_TOKEN'])(argv, o);
      };
      await assert.rejects(deployCoordinator({ config: 'wrangler.jsonc', dryRun: false, cwd: dir.path, env: {}, run: missing }), /missing secrets: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/);
      assert.ok(stagedWhileRunning.includes('crabbox-deploy-') && !before.some((n) => stagedWhileRunning.endsWith(n)), 'wrangler ran in a new temporary staging directory');
      assert.equal(existsSync(stagedWhileRunning), false, 'removed after a refusal too');
      assert.deepEqual(calls, [['secret', 'list']], 'nothing was uploaded');
      calls.length = 0;
      const done = await deployCoordinator({ config: 'wrangler.jsonc', dryRun: false, cwd: dir.path, env: {}, run: fakeWrangler(['CRABBOX_SESSION_SECRET', 'HETZNER_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) });
      assert.deepEqual(calls, [['secret', 'list'], ['deploy', '--config']]);
      assert.deepEqual(done.missingSecrets, []);
      assert.equal(existsSync(done.staged), false, 'the temporary staging directory is removed');
      // wrangler not logged in: its own words, not a redacted blank, and the fix.
      const notLoggedIn: Runner = async () => ({ code: 1, stdout: '', stderr: "\n\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mIn a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.\x1b[0m\n\n🪵  Logs were written to /tmp/x.log\n" });
      await assert.rejects(deployCoordinator({ config: 'wrangler.jsonc', dryRun: false, cwd: dir.path, env: {}, run: notLoggedIn }), (e: Error & { hint?: string }) => {
        assert.equal(e.message, "wrangler secret list failed: In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.");
        assert.equal(redact(e.message), e.message, 'the CLI prints it through the redactor: nothing in it may read as a secret');
        assert.match(e.hint ?? '', /wrangler login/);
        return true;
      });
    } finally {
      dir.remove();
    }
  });

  it('reads JSON with comments and trailing commas, leaving // inside strings alone', () => {
    assert.deepEqual(parseJsonc('{\n  // a comment\n  "url": "https://x.example/a", /* block */ "list": [1, 2,],\n}', 'x'), { url: 'https://x.example/a', list: [1, 2] });
  });
});

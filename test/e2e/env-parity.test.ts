// The box gets the caller's session context (docs/env.md, "Session context"): local provider, real sshd, rsync, git.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-env-' });
const repo = join(sandbox.path, 'repo');
let slug = '';
let leaseId = '';

/** The caller's environment without what the sandbox's own process leaks (its LANG, TERM, TZ, CI). */
function callerEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(sandbox.env)) if (!/^(LANG|LC_.*|TERM|TZ|CI|COLUMNS|LINES)$/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const crabbox = (argv: string[], extra: NodeJS.ProcessEnv = {}) => runCli(argv, { env: callerEnv(extra), cwd: repo });

/** The box's view of the named variables, one `NAME=value` (or `NAME unset`) line each. */
const show = (names: string[]): string[] => ['bash', '-c', `for n in ${names.join(' ')}; do if [ -n "\${!n+set}" ]; then echo "$n=\${!n}"; else echo "$n unset"; fi; done`];

describe('environment parity on the local provider', () => {
  before(async () => {
    initRepo(repo, { 'README.md': 'env\n' });
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    ({ slug, id: leaseId } = JSON.parse(warm.stdout) as { slug: string; id: string });
  });
  after(() => sandbox.remove());

  it('without a terminal: TERM=dumb, no COLUMNS/LINES; LANG, LC_*, TZ and CI as the caller has them; the run described by CRABBOX_*; nothing else', async () => {
    const r = await crabbox(['run', '--json', '--id', slug, '--', ...show(['TERM', 'COLUMNS', 'LINES', 'LANG', 'LC_COLLATE', 'TZ', 'CI', 'UNLISTED_VAR', 'CRABBOX_LEASE_ID', 'CRABBOX_SLUG', 'CRABBOX_PROVIDER', 'CRABBOX_RUN_ID'])], {
      LANG: 'C.UTF-8', LC_COLLATE: 'C', TZ: 'Pacific/Auckland', CI: 'true', UNLISTED_VAR: 'stays-home', COLUMNS: '123', TERM: 'xterm-256color',
    });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { runId: string };
    assert.match(result.runId, /^run_[0-9a-f]{12}$/);
    // --json puts the command's stdout on stderr, before crabbox's own lines.
    assert.deepEqual(r.stderr.split('\n').slice(0, 12), [
      'TERM=dumb', 'COLUMNS unset', 'LINES unset', 'LANG=C.UTF-8', 'LC_COLLATE=C',
      // Not a secret: never redacted (a value registered with the redactor would show as a marker).
      'TZ=Pacific/Auckland', 'CI=true', 'UNLISTED_VAR unset',
      `CRABBOX_LEASE_ID=${leaseId}`, `CRABBOX_SLUG=${slug}`, 'CRABBOX_PROVIDER=local', `CRABBOX_RUN_ID=${result.runId}`,
    ]);
    const date = await crabbox(['run', '--id', slug, '--', 'date', '-d', '@0', '+%H:%M %Z'], { TZ: 'Pacific/Auckland' });
    assert.equal(date.stdout, '12:00 NZST\n', 'the box formats times in the caller\'s zone');
  });

  it('with a terminal: the caller\'s TERM, and COLUMNS and LINES that tput answers with', async () => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 97, rows: 31 });
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (b: Buffer) => out.push(b));
    stderr.on('data', (b: Buffer) => err.push(b));
    const stdin = new PassThrough();
    stdin.end();
    const code = await main({
      argv: ['run', '--id', slug, '--', 'bash', '-c', 'echo "$TERM $COLUMNS $LINES"; tput cols; tput lines; tput colors'],
      env: callerEnv({ TERM: 'xterm-256color' }), cwd: repo, stdin, stdout, stderr,
    });
    assert.equal(code, 0, Buffer.concat(err).toString());
    assert.equal(Buffer.concat(out).toString(), 'xterm-256color 97 31\n97\n31\n256\n');
  });

  it('a locale the box lacks becomes C.UTF-8 and is said once per lease workspace', async () => {
    const missing = { LANG: 'xx_YY.UTF-8', LC_TIME: 'C.UTF-8' };
    const first = await crabbox(['run', '--id', slug, '--', ...show(['LANG', 'LC_TIME'])], missing);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'LANG=C.UTF-8\nLC_TIME=C.UTF-8\n');
    const said = (text: string) => text.split('\n').filter((l) => l.includes('has no locale'));
    assert.deepEqual(said(first.stderr), ['crabbox: the box has no locale xx_YY.UTF-8; the command runs with C.UTF-8']);
    const second = await crabbox(['run', '--id', slug, '--', ...show(['LANG'])], missing);
    assert.equal(second.stdout, 'LANG=C.UTF-8\n');
    assert.deepEqual(said(second.stderr), [], 'said once');
    // glibc's own spelling of a locale the box has passes unchanged, and says nothing.
    const known = await crabbox(['run', '--id', slug, '--', ...show(['LANG'])], { LANG: 'C.utf8' });
    assert.equal(known.stdout, 'LANG=C.utf8\n');
    assert.deepEqual(said(known.stderr), []);
  });

  it('--env NAME forwards one more variable for one run, a secret to crabbox like any forwarded value', async () => {
    const value = `extra-${process.pid}-value`;
    const r = await crabbox(['run', '--debug', '--id', slug, '--env', 'MY_EXTRA', '--', ...show(['MY_EXTRA'])], { MY_EXTRA: value });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `MY_EXTRA=${value}\n`);
    assert.ok(!r.stderr.includes(value), 'crabbox\'s own diagnostics never show it');
    const without = await crabbox(['run', '--id', slug, '--', ...show(['MY_EXTRA'])], { MY_EXTRA: value });
    assert.equal(without.stdout, 'MY_EXTRA unset\n', 'only for that run');
    const unset = await crabbox(['run', '--id', slug, '--env', 'NOT_SET_HERE', '--', ...show(['NOT_SET_HERE'])]);
    assert.equal(unset.stdout, 'NOT_SET_HERE unset\n');
    assert.match(unset.stderr, /warning: --env NOT_SET_HERE: not set here; nothing is forwarded for it/);
  });

  it('--env with a value, a bad name or crabbox\'s own credential is refused in one line and runs nothing', async () => {
    const cases: [string, RegExp][] = [
      ['TOKEN=hunter2secret', /^crabbox: --env "TOKEN" with a value refused: give a name only; values are read from your environment, never from the command line$/],
      ['A-B', /^crabbox: --env "A-B": not an env name/],
      ['CRABBOX_COORDINATOR_TOKEN', /^crabbox: --env CRABBOX_COORDINATOR_TOKEN refused: crabbox's own credentials are never forwarded$/],
    ];
    for (const [flag, message] of cases) {
      const r = await crabbox(['run', '--id', slug, '--env', flag, '--', 'touch', 'ran.txt']);
      assert.equal(r.code, 64, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
      assert.ok(!r.stderr.includes('hunter2'), 'the value is never echoed');
    }
    const check = await crabbox(['run', '--id', slug, '--', 'bash', '-c', 'test ! -e ran.txt']);
    assert.equal(check.code, 0, 'nothing ran');
  });

  it('crabbox ssh lands in the synced checkout: a command and an interactive shell start there; elsewhere, in the home folder', async () => {
    const run = await crabbox(['run', '--id', slug, '--', 'pwd']);
    assert.equal(run.code, 0, run.stderr);
    const workdir = run.stdout.trim();
    const command = await crabbox(['ssh', slug, '--', 'pwd']);
    assert.equal(command.stdout.trim(), workdir, command.stderr);
    const interactive = await runCli(['ssh', slug], { env: callerEnv({}), cwd: repo, stdin: 'pwd\nexit 3\n' });
    assert.equal(interactive.code, 3, interactive.stderr);
    assert.equal(interactive.stdout.trim().split('\n').at(-1), workdir);
    const outside = await runCli(['ssh', slug, '--', 'pwd'], { env: callerEnv({}), cwd: sandbox.path });
    assert.notEqual(outside.stdout.trim(), workdir);
    assert.match(outside.stdout.trim(), /home/);
  });
});

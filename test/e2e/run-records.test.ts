// `crabbox run` keeps a record of every run (local provider, real sshd/rsync/git): history, logs, results and JUnit.
import { describe, it, before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, runCli } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { historyJson, leaseJson, logsJson, resultsJson, runResultJson } from '../../src/api/shapes.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-records-' });
const { env } = sandbox;
const runsDir = join(sandbox.path, 'state', 'crabbox', 'runs');
const repo = join(sandbox.path, 'repo');
let slug = '';

const crabbox = (argv: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(argv, { env: { ...env, ...extraEnv }, cwd: repo });

/** The stored record file of a run, as text. */
function storedRun(runId: string): string {
  const name = readdirSync(runsDir).find((f) => f.endsWith(`_${runId}.json`));
  assert.ok(name, `no stored file for ${runId} in ${readdirSync(runsDir).join(', ')}`);
  return readFileSync(join(runsDir, name), 'utf8');
}

// One failing and one passing case; a second report that is not well-formed XML.
const REPORT = `<testsuite name="math"><testcase classname="calc" name="adds two numbers"><failure message="expected 4, got 5">boom</failure></testcase><testcase classname="calc" name="subtracts"/></testsuite>`;
const writeReports = `printf '%s' '${REPORT}' > report.xml; printf '<testsuite><testcase' > broken.xml; echo tests done; exit 1`;

describe('crabbox run records every run (local provider)', () => {
  before(async () => {
    initRepo(repo, { 'README.md': 'records\n' });
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    slug = leaseJson.parse(JSON.parse(warm.stdout)).slug;
  });
  after(() => sandbox.remove());

  it('history lists the run with its exit code and command; logs prints its output', async () => {
    const run = await crabbox(['run', '--id', slug, '--', 'sh', '-c', 'echo hello; exit 3']);
    assert.equal(run.code, 3, run.stderr);
    const runId = /run=(run_[0-9a-f]{12})/.exec(run.stderr)?.[1];
    assert.ok(runId, run.stderr);

    const history = await crabbox(['history', '--json']);
    assert.equal(history.code, 0, history.stderr);
    const entry = historyJson.parse(JSON.parse(history.stdout)).runs.find((r) => r.id === runId);
    assert.ok(entry, history.stdout);
    assert.deepEqual([entry.provider, entry.source, entry.interrupted, entry.remoteExitCode], ['local', 'remote', null, 3]);
    assert.equal(entry.exitCode, 3);
    assert.equal(entry.state, 'failed');
    assert.equal(entry.slug, slug);
    assert.deepEqual(entry.command, ['sh', '-c', 'echo hello; exit 3']);

    const logs = await crabbox(['logs', runId]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^hello$/m);
    logsJson.parse(JSON.parse((await crabbox(['logs', runId, '--json'])).stdout));
  });

  it('--junit collects the reports from the box: counts in the result object, failed cases in crabbox results', async () => {
    const run = await crabbox(['run', '--json', '--id', slug, '--junit', 'report.xml,broken.xml', '--', 'sh', '-c', writeReports]);
    assert.equal(run.code, 1, run.stderr);
    const result = runResultJson.parse(JSON.parse(run.stdout));
    assert.ok(result.runId);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.junit, { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 0, files: 2, warnings: 1 });
    assert.match(run.stderr, /warning: junit: broken\.xml/, 'a malformed report is a warning; the other still counts');

    const shown = await crabbox(['results', result.runId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /failures=1/);
    assert.match(shown.stdout, /FAIL .*adds two numbers/);
    const json = await crabbox(['results', result.runId, '--json']);
    const stored = resultsJson.parse(JSON.parse(json.stdout));
    assert.equal(stored.junit?.failures, 1);
    assert.deepEqual(stored.junit?.failed.map((f) => f.name), ['adds two numbers']);
    const entry = historyJson.parse(JSON.parse((await crabbox(['history', '--json'])).stdout)).runs.find((r) => r.id === result.runId);
    assert.deepEqual(entry?.junit, { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 0 });
  });

  it('config run.junit is used without the flag; a pattern that reaches outside the workdir is refused before leasing', async () => {
    writeFileSync(join(repo, '.crabbox.yaml'), 'run:\n  junit: ["report.xml"]\n');
    try {
      const run = await crabbox(['run', '--json', '--id', slug, '--', 'sh', '-c', writeReports]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { junit: { failures: number; files: number } }).junit.failures, 1);
    } finally {
      rmSync(join(repo, '.crabbox.yaml'));
    }
    const before = readdirSync(runsDir).length;
    writeFileSync(join(repo, '.crabbox.yaml'), 'run:\n  junit: ["/etc/passwd"]\n');
    try {
      const configured = await crabbox(['run', '--id', slug, '--', 'true']);
      assert.equal(configured.code, 78, configured.stderr);
      assert.match(configured.stderr, /run\.junit: JUnit path "\/etc\/passwd" must be relative/);
    } finally {
      rmSync(join(repo, '.crabbox.yaml'));
    }
    const bad = await crabbox(['run', '--id', slug, '--junit', '../etc/passwd', '--', 'true']);
    assert.equal(bad.code, 64, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /must not contain \.\./);
    assert.equal(readdirSync(runsDir).length, before, 'nothing was run or recorded');
  });

  it('--no-record-command and run.recordCommand: false keep the command out of the record', async () => {
    const flagged = await crabbox(['run', '--json', '--no-record-command', '--id', slug, '--', 'sh', '-c', 'echo private-command-line']);
    assert.equal(flagged.code, 0, flagged.stderr);
    const runId = (JSON.parse(flagged.stdout) as { runId: string }).runId;
    const record = JSON.parse(storedRun(runId)) as Record<string, unknown>;
    assert.equal(record.id, runId);
    assert.equal('command' in record, false);
    assert.ok(!storedRun(runId).includes('echo private-command-line'), 'the output is kept, the command line is not');

    writeFileSync(join(repo, '.crabbox.yaml'), 'run:\n  recordCommand: false\n');
    try {
      const configured = await crabbox(['run', '--json', '--id', slug, '--', 'true']);
      assert.equal(configured.code, 0, configured.stderr);
      assert.equal('command' in (JSON.parse(storedRun((JSON.parse(configured.stdout) as { runId: string }).runId)) as object), false);
    } finally {
      rmSync(join(repo, '.crabbox.yaml'));
    }
  });

  it('a forwarded env value never reaches the stored run file', async () => {
    const canary = `recordscanary${process.pid}x${Date.now()}`;
    const run = await crabbox(['run', '--json', '--id', slug, '--', 'sh', '-c', 'echo "v=$MYAPP_SECRET"; echo "$MYAPP_SECRET" >&2'], { MYAPP_SECRET: canary, CRABBOX_ENV_ALLOW: 'MYAPP_*' });
    assert.equal(run.code, 0, run.stderr);
    const runId = (JSON.parse(run.stdout) as { runId: string }).runId;
    const stored = storedRun(runId);
    assert.ok(!stored.includes(canary), stored);
    assert.match(stored, /v=\[redacted\]/, 'the output was recorded, with the value replaced');
    for (const name of readdirSync(runsDir)) assert.ok(!readFileSync(join(runsDir, name), 'utf8').includes(canary), name);
  });

  it('a crabbox process killed with -9 leaves a record that history shows as abandoned, not running', async () => {
    const child = spawn(process.execPath, [BIN, 'run', '--id', slug, '--', 'sh', '-c', 'echo started; sleep 60'], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // Bounded wait for the remote command to start (the record is written before it runs).
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run did not start: ${err}`)), 30_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const running = readdirSync(runsDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(runsDir, f), 'utf8')) as { id: string; state: string }).filter((r) => r.state === 'running');
    assert.equal(running.length, 1, err);
    const runId = running[0]!.id;
    const stored = JSON.parse(storedRun(runId)) as { state: string; owner?: { pid: number } };
    assert.equal(stored.state, 'running');
    assert.equal(stored.owner?.pid, child.pid);
    const entry = async () => ((JSON.parse((await crabbox(['history', '--json'])).stdout) as { runs: { id: string; state: string }[] }).runs.find((r) => r.id === runId));
    assert.equal((await entry())?.state, 'running', 'the owner is alive');

    child.kill('SIGKILL');
    await exited;
    assert.equal((JSON.parse(storedRun(runId)) as { state: string }).state, 'running', 'nobody finished the record');
    assert.equal((await entry())?.state, 'abandoned');
    const filtered = await crabbox(['history', '--state', 'abandoned', '--json']);
    assert.deepEqual((JSON.parse(filtered.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id), [runId]);
    assert.match((await crabbox(['history'])).stdout, new RegExp(`^${runId}\\s.*\\sabandoned\\s`, 'm'));
  });
  it('a run that fails before it has a lease prints no run id and leaves no record', async () => {
    const before = readdirSync(runsDir).length;
    const run = await crabbox(['run', '--json', '--id', 'cbx_000000000000', '--', 'true']);
    assert.equal(run.code, 66, run.stderr);
    const result = runResultJson.parse(JSON.parse(run.stdout));
    assert.equal(result.runId, null);
    assert.doesNotMatch(run.stderr, /run=run_/);
    assert.equal(readdirSync(runsDir).length, before);
  });

  it('an interrupted run: run exits 143 and history says the same (interrupted, SIGTERM), with the command\'s own code beside it', async () => {
    // The command turns SIGTERM into exit 9.
    const child = spawn(process.execPath, [BIN, 'run', '--id', slug, '--no-sync', '--', 'sh', '-c', "trap 'exit 9' TERM; echo started; while :; do sleep 0.05; done"], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = once(child, 'exit');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run did not start: ${err}`)), 30_000);
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 143, err);
    const runId = /run=(run_[0-9a-f]{12})/.exec(err)?.[1];
    const entry = historyJson.parse(JSON.parse((await crabbox(['history', '--state', 'interrupted', '--json'])).stdout)).runs.find((r) => r.id === runId);
    assert.deepEqual([entry?.state, entry?.exitCode, entry?.source, entry?.interrupted, entry?.remoteExitCode], ['interrupted', 143, 'crabbox', 'SIGTERM', 9]);
  });
});

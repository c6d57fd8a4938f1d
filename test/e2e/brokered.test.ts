// Brokered mode end to end: a real coordinator process (SQLite, local provider) and the real CLI (bin/crabbox).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIN, runBin, type CliResult } from '../../src/testing/cli.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { initRepo } from '../../src/testing/git.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { historyJson, leaseJson, logsJson, resultsJson, runResultJson, whoamiJson } from '../../src/api/shapes.ts';

const SHARED = 'brokered-e2e-shared-token-0123456789';
const SECRET = 'brokered-e2e-session-secret-0123456789abcdef';

const tmp = tempDir('crabbox-e2e-brokered-');
const db = join(tmp.path, 'coordinator.sqlite');
const coordConfig = join(tmp.path, 'coordinator.yaml');
writeFileSync(coordConfig, 'caps:\n  activeLeases: { owner: 5 }\n  monthlySpend: { owner: 100 }\nadmins: [root-admin]\n');
const coordEnv = isolatedEnv(join(tmp.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SECRET, CRABBOX_COORDINATOR_CONFIG: coordConfig });
const repo = join(tmp.path, 'repo');
const tokens: Record<string, string> = {};
const outputs: string[] = [];
let coordinator: ServeProcess;
let port = 0;

// The box's per-lease user must reach the tests' signal files, so they live in a world-writable dir of their own.
const signals = mkdtempSync('/var/tmp/crabbox-brokered-signals-');
chmodSync(signals, 0o777);

/** Each user's HOME. alice logs in (token stored in her user config); everyone else uses CRABBOX_COORDINATOR(_TOKEN). */
const homeOf = (user: string): string => join(tmp.path, user);
function envOf(user: string): NodeJS.ProcessEnv {
  if (user === 'alice') return isolatedEnv(homeOf('alice'));
  return isolatedEnv(homeOf(user), { CRABBOX_COORDINATOR: `http://127.0.0.1:${port}`, CRABBOX_COORDINATOR_TOKEN: tokens[user] });
}

async function cli(user: string, argv: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const r = await runBin(argv, { env: { ...envOf(user), ...options.env }, cwd: repo, stdin: options.stdin, timeoutMs: 120_000 });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const json = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

async function issueToken(login: string): Promise<string> {
  const r = await runBin(['coordinator', 'issue-token', '--login', login, '--ttl', '30d'], { env: isolatedEnv(join(tmp.path, 'issuer'), { CRABBOX_SESSION_SECRET: SECRET }) });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function restart(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  coordinator = await startServe({ ...coordEnv, ...extraEnv }, ['--db', db, '--providers', 'local'], { port });
}

/** A user of a test's own (nothing anyone else did shows in their usage, history or list). */
async function newUser(login: string): Promise<string> {
  tokens[login] = await issueToken(login);
  return login;
}

/** A fresh lease of `user`'s, made by `warmup`. Every test that needs a lease makes its own. */
async function warm(user: string): Promise<{ leaseId: string; slug: string }> {
  const r = await cli(user, ['warmup', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { id, slug } = json<{ id: string; slug: string }>(r);
  return { leaseId: id, slug };
}

/** A finished run on the lease (exit 4, output on both streams); its id. */
async function runOn(user: string, slug: string): Promise<string> {
  const run = await cli(user, ['run', '--id', slug, '--', 'sh', '-c', 'cat hello.txt; echo to-stderr >&2; exit 4']);
  assert.equal(run.code, 4, run.stderr);
  const runId = /run=(run_[0-9a-f]{12})/.exec(run.stderr)?.[1] ?? '';
  assert.ok(runId, run.stderr);
  return runId;
}

/** A proxy to the coordinator that, once armed, holds the next lease heartbeat until `release()`. */
async function heartbeatGate(target: number): Promise<{ url: string; arm(): void; heartbeatHeld: Promise<void>; release(): void; close(): Promise<void> }> {
  let held: (() => void) | undefined;
  let onHeld!: () => void;
  const heartbeatHeld = new Promise<void>((resolve) => (onHeld = resolve));
  let gated = false;
  const server = createServer((req, res) => {
    const forward = (): void => {
      const up = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (gated && /\/heartbeat$/.test(req.url ?? '')) {
      gated = false;
      held = forward;
      onHeld();
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm: () => void (gated = true),
    heartbeatHeld,
    release: () => held?.(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('brokered mode: the CLI works through a real coordinator', () => {
  before(async () => {
    initRepo(repo, { 'hello.txt': 'hello from the checkout\n' });
    coordinator = await startServe(coordEnv, ['--db', db, '--providers', 'local']);
    port = coordinator.port;
    for (const login of ['alice', 'bob', 'root-admin']) tokens[login === 'root-admin' ? 'admin' : login] = await issueToken(login);
    const login = await cli('alice', ['login', '--url', coordinator.url, '--token-stdin'], { stdin: `${tokens.alice}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /owner\s+alice/);
  });

  after(async () => {
    for (const user of Object.keys(tokens)) {
      const list = await runBin(['list', '--json'], { env: envOf(user), cwd: repo }).catch(() => undefined);
      if (list?.code === 0) for (const l of (JSON.parse(list.stdout) as { leases: { id: string }[] }).leases) await runBin(['stop', l.id], { env: envOf(user), cwd: repo });
    }
    await coordinator.stop();
    tmp.remove();
    rmSync(signals, { recursive: true, force: true });
  });

  it('warmup leases through the coordinator: only the public key is sent, known_hosts is pinned locally', async () => {
    const warm = await cli('alice', ['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = json<{ id: string; slug: string; state: string; owner: string; machine: { host: string } }>(warm);
    assert.equal(lease.state, 'active');
    assert.equal(lease.owner, 'alice');
    const { id: leaseId, slug } = lease;
    const keyDir = join(homeOf('alice'), 'state', 'crabbox', 'leases', leaseId);
    assert.ok(existsSync(join(keyDir, 'id_ed25519')), 'the private key stays on this machine');
    assert.match(readFileSync(join(keyDir, 'known_hosts'), 'utf8'), /ssh-ed25519 AAAA/);
    assert.deepEqual(readdirSync(join(homeOf('alice'), 'state', 'crabbox', 'leases')).filter((n) => n.startsWith('pending-')), [], 'no pending key dir left');
    const list = await cli('alice', ['list']);
    assert.match(list.stdout, new RegExp(`${leaseId}\\s+${slug}\\s+active`));
    const status = await cli('alice', ['status', slug]);
    assert.match(status.stdout, /state:\s+active/);
    const ssh = await cli('alice', ['ssh', slug, '--', 'sh', '-c', 'echo on-the-box; exit 9']);
    assert.equal(ssh.code, 9);
    assert.equal(ssh.stdout, 'on-the-box\n');
    const beat = await cli('alice', ['heartbeat', leaseId, '--json']);
    assert.equal(beat.code, 0, beat.stderr);
    assert.equal((await cli('alice', ['stop', leaseId])).code, 0);
  });

  it('run streams output and passes the exit code; history, logs and results read the run from the coordinator', async () => {
    const { leaseId, slug } = await warm('alice');
    const run = await cli('alice', ['run', '--id', slug, '--', 'sh', '-c', 'cat hello.txt; echo to-stderr >&2; exit 4']);
    assert.equal(run.code, 4, run.stderr);
    assert.equal(run.stdout, 'hello from the checkout\n');
    assert.match(run.stderr, /to-stderr/);
    const runId = /run=(run_[0-9a-f]{12})/.exec(run.stderr)?.[1] ?? '';
    assert.ok(runId, run.stderr);
    const history = historyJson.parse(json(await cli('alice', ['history', '--json', '--lease', slug])));
    const entry = history.runs.find((r) => r.id === runId);
    assert.equal(entry?.state, 'failed');
    assert.equal(entry?.exitCode, 4);
    assert.equal(entry?.leaseId, leaseId);
    assert.deepEqual([entry?.slug, entry?.provider, entry?.source], [slug, 'local', 'remote'], 'the slug is the slug, not the lease id');
    assert.match(entry?.command?.join(' ') ?? '', /cat hello.txt/);
    assert.equal(json<{ runs: { leaseId: string }[] }>(await cli('alice', ['history', '--json', '--state', 'succeeded'])).runs.filter((r) => r.leaseId === leaseId).length, 0);
    const logs = await cli('alice', ['logs', runId]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hello from the checkout\n[\s\S]*to-stderr/);
    const results = await cli('alice', ['results', runId, '--json']);
    assert.deepEqual(resultsJson.parse(json(results)), { schema: 'crabbox.results/v1', runId, state: 'failed', exitCode: 4, junit: null });
    logsJson.parse(json(await cli('alice', ['logs', runId, '--json'])));
    const table = await cli('alice', ['history']);
    assert.match(table.stdout, new RegExp(`${runId}\\s+${slug}\\s+failed\\s+4`));

    const report = '<testsuite name="math"><testcase classname="calc" name="adds two numbers"><failure message="no">boom</failure></testcase><testcase classname="calc" name="subtracts"/></testsuite>';
    const withJunit = await cli('alice', ['run', '--id', slug, '--junit', 'report.xml', '--', 'sh', '-c', `printf '%s' '${report}' > report.xml; exit 1`]);
    assert.equal(withJunit.code, 1, withJunit.stderr);
    const junitRun = /run=(run_[0-9a-f]{12})/.exec(withJunit.stderr)?.[1] ?? '';
    const shown = await cli('alice', ['results', junitRun]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, 'tests=2 passed=1 failures=1 errors=0 skipped=0 time=0.00s files=1\n\nFAIL math › adds two numbers (calc)\n  no\n');
    // The same shapes as direct mode: JUnit counts in history, failed cases as objects in results.
    const withJunitEntry = historyJson.parse(json(await cli('alice', ['history', '--json']))).runs.find((r) => r.id === junitRun);
    assert.deepEqual(withJunitEntry?.junit, { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 0 });
    const junitResults = resultsJson.parse(json(await cli('alice', ['results', junitRun, '--json'])));
    assert.deepEqual(junitResults.junit?.failed, [{ kind: 'failure', suite: 'math', name: 'adds two numbers', classname: 'calc', message: 'no', detail: 'boom' }]);
    // What --download brought back is on the coordinator's record too: results shows it as in direct mode.
    const withFiles = await cli('alice', ['run', '--id', slug, '--download', 'out/**', '--', 'sh', '-c', 'mkdir -p out && echo covered > out/lcov.info']);
    assert.equal(withFiles.code, 0, withFiles.stderr);
    const filesRun = /run=(run_[0-9a-f]{12})/.exec(withFiles.stderr)?.[1] ?? '';
    const filesResults = resultsJson.parse(json(await cli('alice', ['results', filesRun, '--json'])));
    assert.deepEqual([filesResults.artifacts?.files, filesResults.artifacts?.paths, filesResults.artifacts?.dir], [1, ['out/lcov.info'], `.crabbox/artifacts/${filesRun}`]);
    const runJson = await cli('alice', ['run', '--id', slug, '--json', '--', 'true']);
    assert.equal(runJson.code, 0, runJson.stderr);
    const result = runResultJson.parse(json(runJson));
    assert.deepEqual(Object.keys(result.timings).filter((k) => !(k in result.timingsMs)), [], 'timings uses the record\'s phase names');
    assert.equal((await cli('alice', ['stop', leaseId])).code, 0);
  });

  it('usage shows the lease with the caps; events show its lifecycle', async () => {
    const carol = await newUser('carol');
    const { leaseId, slug } = await warm(carol);
    await runOn(carol, slug);
    const usage = json<{ month: string; rows: { key: string; leases: number }[]; caps: { activeLeases: { owner: { limit: number; current: number } } } }>(await cli(carol, ['usage', '--json']));
    assert.equal(usage.rows.find((r) => r.key === 'local')?.leases, 1);
    assert.deepEqual(usage.caps.activeLeases.owner, { limit: 5, current: 1 });
    const human = await cli(carol, ['usage', '--by', 'owner']);
    assert.match(human.stdout, /carol\s+1/);
    assert.match(human.stdout, /active leases \(owner\): 1 of 5/);
    const events = json<{ events: { type: string; leaseId?: string }[] }>(await cli(carol, ['events', '--lease', slug, '--json']));
    const types = events.events.map((e) => e.type);
    for (const t of ['lease.created', 'machine.provisioned', 'run.created', 'run.finished']) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    assert.ok(events.events.every((e) => e.leaseId === leaseId));
  });

  it('two users with their own tokens cannot see or touch each other\'s leases, runs or events', async () => {
    const { leaseId, slug } = await warm('alice');
    const runId = await runOn('alice', slug);
    const bobList = json<{ leases: { id: string }[] }>(await cli('bob', ['list', '--json']));
    assert.deepEqual(bobList.leases, []);
    for (const argv of [['status', leaseId], ['status', slug], ['heartbeat', leaseId], ['ssh', leaseId, '--', 'true'], ['history', '--lease', slug], ['logs', runId], ['results', runId], ['stop', slug], ['run', '--id', leaseId, '--no-sync', '--', 'true']]) {
      const r = await cli('bob', argv);
      assert.equal(r.code, 66, `${argv.join(' ')}: ${r.code} ${r.stderr}`);
      assert.match(r.stderr, /no lease|no run|not found/, r.stderr);
    }
    const stopById = await cli('bob', ['stop', leaseId]);
    assert.equal(stopById.code, 0, 'releasing an id bob cannot see is idempotent success');
    assert.equal(stopById.stdout, `no lease ${leaseId} of yours is live; nothing to release\n`, 'claims nothing about a lease bob cannot see');
    assert.equal(json<{ events: unknown[] }>(await cli('bob', ['events', '--lease', leaseId, '--json'])).events.length, 0);
    assert.equal(json<{ runs: unknown[] }>(await cli('bob', ['history', '--json'])).runs.length, 0);
    const admin = await cli('bob', ['admin', 'leases']);
    assert.equal(admin.code, 77);
    assert.match(admin.stderr, /^crabbox: `crabbox admin leases` is only for coordinator admins/);
    assert.equal((await cli('bob', ['admin', 'release', leaseId])).code, 77);
    assert.equal((await cli('bob', ['admin', 'delete', leaseId, '--force'])).code, 77);
    assert.equal((await cli('alice', ['status', leaseId, '--json'])).code, 0, 'alice\'s lease is untouched');
    assert.equal(json<{ state: string }>(await cli('alice', ['status', leaseId, '--json'])).state, 'active');
    const everyone = json<{ leases: { id: string; owner: string }[] }>(await cli('admin', ['admin', 'leases', '--json']));
    assert.ok(everyone.leases.some((l) => l.id === leaseId && l.owner === 'alice'), 'an admin sees it');
    assert.equal((await cli('alice', ['stop', leaseId])).code, 0);
  });

  it('cleanup cleans only local keys (the coordinator deletes boxes); doctor checks reachability, auth and clock skew', async () => {
    const { leaseId } = await warm('alice');
    const cleanup = await cli('alice', ['cleanup']);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.match(cleanup.stdout, /0 key folders removed; the coordinator at \S+ deletes expired boxes itself/);
    assert.equal(json<{ state: string }>(await cli('alice', ['status', leaseId, '--json'])).state, 'active', 'the live lease is untouched');
    leaseJson.parse(json(await cli('alice', ['status', leaseId, '--json'])));
    whoamiJson.parse(json(await cli('alice', ['whoami', '--json'])));
    const doctor = json<{ checks: { name: string; ok: boolean; detail: string }[] }>(await cli('alice', ['doctor', '--json']));
    for (const name of ['coordinator', 'coordinator auth', 'clock skew']) assert.equal(doctor.checks.find((c) => c.name === name)?.ok, true, name);
    const skewed = await cli('alice', ['doctor'], { env: { CRABBOX_CLOCK_OFFSET: '10m' } });
    assert.match(skewed.stdout, /FAIL clock skew: this clock is \d+s ahead of the coordinator's \(fix: /);
    assert.equal((await cli('alice', ['stop', leaseId])).code, 0);
  });

  it('a warm run connects while the coordinator answers its heartbeat, and the command waits for that answer', async () => {
    // The lease is made through the proxy: a lease remembered here is used only with the coordinator that made it.
    const proxy = await heartbeatGate(port);
    const viaProxy = { CRABBOX_COORDINATOR: proxy.url, CRABBOX_COORDINATOR_TOKEN: tokens.bob };
    try {
      const warmed = await cli('bob', ['warmup', '--json'], { env: viaProxy });
      assert.equal(warmed.code, 0, warmed.stderr);
      const { slug, machine } = json<{ slug: string; machine: { sshUser: string } }>(warmed);
      const view = { machine };
      const ran = join(signals, `gated-${slug}`);
      proxy.arm();
      const child = spawn(process.execPath, [BIN, 'run', '--id', slug, '--', 'touch', ran], { env: { ...envOf('bob'), ...viaProxy }, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      await proxy.heartbeatHeld;
      // The box's wrapper is up (its ssh connected) while the heartbeat is still unanswered; the command has not run.
      const wrapperUp = (): boolean => spawnSync('pgrep', ['-u', view.machine.sshUser, '-f', 'read -r n']).status === 0;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !wrapperUp()) await new Promise((r) => setTimeout(r, 50));
      assert.ok(wrapperUp(), 'the run\'s ssh connected before the heartbeat was answered');
      // Long enough for the box's check and the command when nothing holds them (tens of milliseconds here).
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!existsSync(ran), 'the command waits for the coordinator');
      proxy.release();
      assert.equal(await exited, 0, stderr);
      assert.ok(existsSync(ran), 'the command ran once the coordinator answered');
      assert.equal((await cli('bob', ['stop', slug], { env: viaProxy })).code, 0);
    } finally {
      await proxy.close();
    }
  });

  it('a lease made through another coordinator URL is not used before that coordinator has answered', async () => {
    const { slug } = await warm('alice');
    const view = json<{ machine: { sshUser: string } }>(await cli('alice', ['status', slug, '--json']));
    const proxy = await heartbeatGate(port);
    try {
      proxy.arm();
      const child = spawn(process.execPath, [BIN, 'run', '--id', slug, '--', 'true'], { env: { ...envOf('alice'), CRABBOX_COORDINATOR: proxy.url, CRABBOX_COORDINATOR_TOKEN: tokens.alice }, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      await proxy.heartbeatHeld;
      await new Promise((r) => setTimeout(r, 1500));
      assert.notEqual(spawnSync('pgrep', ['-u', view.machine.sshUser, '-f', 'read -r n']).status, 0, 'no connection while the heartbeat is unanswered');
      proxy.release();
      assert.equal(await exited, 0, stderr);
    } finally {
      await proxy.close();
    }
  });

  it('a warm lease released on the coordinator: the run says so and the command never runs', async () => {
    const { leaseId, slug } = await warm('alice');
    assert.equal((await cli('alice', ['run', '--id', slug, '--', 'true'])).code, 0);
    const released = await cli('admin', ['admin', 'release', leaseId]);
    assert.equal(released.code, 0, released.stderr);
    const ran = join(signals, `released-${slug}`);
    const run = await cli('alice', ['run', '--id', leaseId, '--', 'touch', ran]);
    assert.notEqual(run.code, 0, run.stderr);
    assert.ok(!existsSync(ran), 'nothing ran on the box');
    // The same answer as without the lease this computer remembered (the coordinator asked first).
    rmSync(join(homeOf('alice'), 'state', 'crabbox', 'leases', leaseId, 'touched.json'));
    const asked = await cli('alice', ['run', '--id', leaseId, '--', 'touch', ran]);
    assert.equal(run.code, asked.code, `${run.stderr}\n---\n${asked.stderr}`);
    const errorOf = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('crabbox: ') && !/^crabbox: sync=/.test(l));
    assert.deepEqual(errorOf(run.stderr), errorOf(asked.stderr));
    assert.match(run.stderr, new RegExp(`${leaseId}.*released`), run.stderr);
    assert.doesNotMatch(run.stderr, /could not record|ssh to the box failed/, run.stderr);
  });

  it('stop releases the lease: the coordinator records it and the box is gone', async () => {
    const { leaseId, slug } = await warm('alice');
    const stop = await cli('alice', ['stop', slug]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `released ${leaseId} (${slug})\n`);
    assert.equal(json<{ leases: { id: string }[] }>(await cli('alice', ['list', '--json'])).leases.filter((l) => l.id === leaseId).length, 0);
    assert.ok(!existsSync(join(homeOf('alice'), 'state', 'crabbox', 'leases', leaseId)), 'keys removed');
    const types = json<{ events: { type: string }[] }>(await cli('alice', ['events', '--lease', leaseId, '--json'])).events.map((e) => e.type);
    assert.ok(types.includes('lease.released'), types.join(','));
    const again = await cli('alice', ['stop', leaseId]);
    assert.equal(again.code, 0);
  });

  it('Ctrl-C on a brokered run stops the command, finishes the record on the coordinator and releases the lease', async () => {
    const started = join(signals, 'int-started');
    const child = spawn(process.execPath, [BIN, 'run', '--no-sync', '--', 'sh', '-c', `touch ${started}; while :; do sleep 0.05; done`], { env: envOf('alice'), cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !existsSync(started)) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(started), 'the remote command started');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    outputs.push(stderr);
    const id = /run=(run_[0-9a-f]{12})/.exec(stderr)?.[1];
    const lease = /lease=(\S+)/.exec(stderr)?.[1];
    assert.ok(id && lease, stderr);
    const run = historyJson.parse(json(await cli('alice', ['history', '--json', '--state', 'interrupted']))).runs.find((r) => r.id === id);
    assert.deepEqual([run?.state, run?.exitCode, run?.source, run?.interrupted], ['interrupted', 130, 'crabbox', 'SIGINT'], 'the record was finished as interrupted, as in direct mode');
    const status = json<{ state: string }>(await cli('alice', ['status', lease!, '--json']));
    assert.equal(status.state, 'released');
  });

  it('the coordinator killed mid-run: the CLI says so clearly; after a restart the lease is tracked and the sweeper expires it', async () => {
    const dave = await newUser('dave');
    const go = join(signals, 'go');
    const started = join(signals, 'started');
    const pending = cli(dave, ['run', '--no-sync', '--debug', '--', 'sh', '-c', `touch ${started}; while [ ! -f ${go} ]; do sleep 0.05; done; echo finished`]);
    // Wait (bounded) until the remote command runs: then the lease exists and the CLI holds the token.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !existsSync(started)) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(started), 'the remote command started');
    const live = json<{ leases: { id: string }[] }>(await cli(dave, ['list', '--json'])).leases;
    assert.equal(live.length, 1);
    const abandoned = live[0]!.id;
    // The token is never in any process's argv.
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      for (const t of Object.values(tokens)) assert.ok(!cmdline.includes(t), `token in argv of ${pid}`);
      assert.ok(!cmdline.includes(SHARED) && !cmdline.includes(SECRET));
    }
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    writeFileSync(go, '');
    const run = await pending;
    assert.equal(run.stdout, 'finished\n', run.stderr);
    assert.match(run.stderr, /warning: could not record the run: cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(run.stderr, new RegExp(`warning: could not release ${abandoned}: cannot reach the coordinator at \\S+: ECONNREFUSED 127\\.0\\.0\\.1:\\d+; .*the coordinator expires it at its deadline`));
    const down = await cli(dave, ['list']);
    assert.equal(down.code, 69);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
    assert.match(down.stderr, /^crabbox: cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);

    await restart();
    const tracked = json<{ leases: { id: string; state: string }[] }>(await cli(dave, ['list', '--json']));
    assert.deepEqual(tracked.leases.filter((l) => l.id === abandoned).map((l) => l.state), ['active']);
    await coordinator.stop();

    // Three hours later (the coordinator's injected clock): its first sweep expires the abandoned lease.
    await restart({ CRABBOX_CLOCK_OFFSET: '3h' });
    try {
      const sweepDeadline = Date.now() + 30_000;
      let state = '';
      while (Date.now() < sweepDeadline && state !== 'expired') {
        const r = await cli(dave, ['status', abandoned, '--json']);
        state = r.code === 0 ? json<{ state: string }>(r).state : '';
      }
      assert.equal(state, 'expired');
      const types = json<{ events: { type: string }[] }>(await cli(dave, ['events', '--lease', abandoned, '--json'])).events.map((e) => e.type);
      assert.ok(types.includes('lease.expired'), types.join(','));
    } finally {
      // Back to the coordinator every other test expects: no clock offset.
      await coordinator.stop();
      await restart();
    }
  });

  it('the bearer tokens never appear in any CLI output (incl. --debug and config show) or in the coordinator store', async () => {
    // Output of its own (a whole lease with --debug), checked along with everything the other tests printed.
    const { leaseId, slug } = await warm('alice');
    await cli('alice', ['run', '--debug', '--id', slug, '--', 'sh', '-c', 'echo hi']);
    await cli('alice', ['status', leaseId, '--debug']);
    await cli('alice', ['stop', leaseId, '--debug']);
    const show = await cli('alice', ['config', 'show', '--debug']);
    assert.equal(show.code, 0, show.stderr);
    await cli('bob', ['config', 'show']);
    await cli('alice', ['whoami', '--json', '--debug']);
    const all = outputs.join('\n');
    assert.ok(all.length > 1000, 'outputs were collected');
    for (const t of [...Object.values(tokens), SHARED, SECRET]) assert.ok(!all.includes(t), 'a token leaked into CLI output');
    await coordinator.stop();
    for (const file of readdirSync(tmp.path).filter((n) => n.startsWith('coordinator.sqlite'))) {
      const bytes = readFileSync(join(tmp.path, file));
      for (const t of [...Object.values(tokens), SHARED, SECRET]) assert.equal(bytes.indexOf(t), -1, `a token in ${file}`);
    }
    await restart();
  });
});

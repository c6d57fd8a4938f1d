// The coordinator on Workers end to end: the test Worker in workerd (Miniflare, no network) serving the same app over
// Durable Object SQLite; the real CLI (bin/crabbox, built) against it over loopback HTTP. Hetzner is the fake Hetzner
// Cloud API (reached from workerd over loopback); boxes the CLI runs on are the `local` provider's real sshd boxes,
// hosted by this process behind a test-only bridge (the Worker itself refuses `local`). Cloudflare Access is a fake
// proxy in front (src/testing/fake-access.ts).
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyJson, leaseJson, runResultJson } from '../../src/api/shapes.ts';
import { doctorJson } from '../../src/api/shapes-setup.ts';
import { coordinatorConfig } from '../../src/coordinator/config.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { startFakeHetzner, type RunningFakeHetzner } from '../../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';
import { createLocalProvider } from '../../src/providers/local/local-provider.ts';
import { testBoxesRoot } from '../../src/testing/boxes-root.ts';
import { runBin, type CliResult } from '../../src/testing/cli.ts';
import { startFakeAccess, type FakeAccess } from '../../src/testing/fake-access.ts';
import { initRepo } from '../../src/testing/git.ts';
import { serveProviderBridge } from '../../src/testing/provider-bridge.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { stopWorkerd, workerUrl } from '../../src/testing/workerd.ts';

const SHARED = 'worker-e2e-shared-token-0123456789abcdef';
const SERVICE_ID = '0123456789abcdef0123456789abcdef.access';
const SERVICE_SECRET = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

const tmp = tempDir('crabbox-e2e-worker-');
const boxes = testBoxesRoot('crabbox-boxes-worker-');
const repo = join(tmp.path, 'repo');
const local = createLocalProvider({ stateDir: join(tmp.path, 'bridge'), boxesRoot: boxes.path });
let url = '';
let hetzner: RunningFakeHetzner;
let bridge: Awaited<ReturnType<typeof serveProviderBridge>>;
let access: FakeAccess;

async function init(fleet: string, config: Parameters<typeof coordinatorConfig>[0]): Promise<void> {
  const res = await fetch(`${url}/__test/init`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-crabbox-test-fleet': fleet },
    body: JSON.stringify({
      config: coordinatorConfig({ installation: `e2e-${fleet}`, ...config }), now: Date.now(), clock: 'system',
      providers: ['hetzner'], env: { HCLOUD_TOKEN: hetzner.token }, file: { hetzner: { apiUrl: hetzner.url } },
      bridge: { name: 'local', url: bridge.url, capabilities: local.capabilities },
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function cli(home: string, argv: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const r = await runBin(argv, { env: isolatedEnv(join(tmp.path, home), { CRABBOX_OWNER: 'alice', ...options.env }), cwd: repo, stdin: options.stdin, timeoutMs: 120_000 });
  return r;
}

before(async () => {
  initRepo(repo, { 'hello.txt': 'hello from the checkout\n' });
  // Real time on both sides (the Worker's provider polls on its own clock); short actions keep it quick.
  hetzner = await startFakeHetzner({ clock: systemClock, createActionMs: 300, detachMs: 300 });
  bridge = await serveProviderBridge(local);
  url = await workerUrl();
  // The default Durable Object (what a client without test headers reaches) and one behind Access.
  await init('fleet', { defaultProvider: 'local', auth: { sharedToken: SHARED } });
  access = await startFakeAccess({ upstream: url, serviceTokens: { [SERVICE_ID]: SERVICE_SECRET }, policy: 'service-auth', forwardHeaders: { 'x-crabbox-test-fleet': 'behind-access' } });
  await init('behind-access', { defaultProvider: 'local', auth: { sharedToken: SHARED }, access: { teamDomain: access.team, audience: access.audience, jwksUrl: access.jwksUrl } });
});

after(async () => {
  await stopWorkerd();
  await Promise.all([hetzner?.close(), bridge?.close(), access?.close()]);
  boxes.remove();
  tmp.remove();
});

describe('the real CLI against the coordinator in workerd', () => {
  it('login with the shared token, warmup, run, history, release (a real box through the bridge)', async () => {
    const login = await cli('alice', ['login', '--url', url, '--token-stdin'], { stdin: `${SHARED}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /owner\s+alice/);
    // doctor reads the coordinator's clock from its Date header, which workerd does not add by itself.
    const doctor = doctorJson.parse(JSON.parse((await cli('alice', ['doctor', '--json'])).stdout));
    const coordinatorChecks = doctor.checks.filter((c) => c.kind === 'coordinator');
    assert.ok(coordinatorChecks.length >= 3 && coordinatorChecks.every((c) => c.ok), JSON.stringify(coordinatorChecks));
    const warm = await cli('alice', ['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = leaseJson.parse(JSON.parse(warm.stdout));
    assert.equal(lease.state, 'active');
    const run = await cli('alice', ['run', '--id', lease.slug, '--json', '--', 'sh', '-c', 'cat hello.txt; exit 4']);
    assert.equal(run.code, 4, run.stderr);
    const result = runResultJson.parse(JSON.parse(run.stdout));
    const history = historyJson.parse(JSON.parse((await cli('alice', ['history', '--json', '--lease', lease.slug])).stdout));
    assert.deepEqual(history.runs.map((r) => [r.id, r.exitCode]), [[result.runId, 4]]);
    const stop = await cli('alice', ['stop', lease.slug]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await local.get(lease.id), undefined, 'the box is gone');
    assert.equal((await cli('alice', ['stop', lease.slug])).code, 0, 'release is idempotent');
  });

  it('a Hetzner lease through the Worker makes a labelled server at the fake Hetzner and deletes it on release', async () => {
    const headers = { authorization: `Bearer ${SHARED}`, 'x-crabbox-owner': 'alice', 'content-type': 'application/json' };
    const res = await fetch(`${url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ provider: 'hetzner', sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 900, callerCidr: '203.0.113.7/32' }) });
    const body = (await res.json()) as { lease: { id: string; state: string } };
    assert.equal(res.status, 201, JSON.stringify(body));
    const server = [...hetzner.state.servers.values()].find((s) => s.labels['crabbox-lease'] === body.lease.id);
    assert.equal(server?.labels['crabbox-installation'], 'e2e-fleet');
    assert.ok(hetzner.state.requests.every((r) => !JSON.stringify(r).includes(SHARED)), 'the coordinator token never reaches the cloud');
    assert.equal((await fetch(`${url}/v1/leases/${body.lease.id}/release`, { method: 'POST', headers })).status, 200);
    assert.equal([...hetzner.state.servers.values()].some((s) => s.labels['crabbox-lease'] === body.lease.id), false, 'the server is deleted');
  });
});

describe('the CLI behind Cloudflare Access (a Service Auth policy)', () => {
  it('without Access credentials the CLI is stopped with the fix named; with a service token from a 0600 file it gets through', async () => {
    const refused = await cli('access', ['login', '--url', access.url, '--token-stdin'], { stdin: `${SHARED}\n` });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cloudflare Access stopped the request/);
    assert.match(refused.stderr, /CRABBOX_ACCESS_CLIENT_ID/);
    const doctor = await cli('access', ['doctor'], { env: { CRABBOX_COORDINATOR: access.url, CRABBOX_COORDINATOR_TOKEN: SHARED } });
    assert.match(doctor.stdout + doctor.stderr, /behind Cloudflare Access/);

    const secretFile = join(tmp.path, 'access-secret');
    writeFileSync(secretFile, `${SERVICE_SECRET}\n`, { mode: 0o644 });
    const env = { CRABBOX_ACCESS_CLIENT_ID: SERVICE_ID, CRABBOX_ACCESS_CLIENT_SECRET_FILE: secretFile };
    const loose = await cli('access', ['login', '--url', access.url, '--token-stdin'], { stdin: `${SHARED}\n`, env });
    assert.notEqual(loose.code, 0);
    assert.match(loose.stderr, /readable by others/);
    chmodSync(secretFile, 0o600);
    const login = await cli('access', ['login', '--url', access.url, '--token-stdin'], { stdin: `${SHARED}\n`, env });
    assert.equal(login.code, 0, login.stderr);
    const warm = await cli('access', ['warmup', '--json'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const lease = leaseJson.parse(JSON.parse(warm.stdout));
    assert.equal((await cli('access', ['stop', lease.id], { env })).code, 0);
    assert.ok(access.forwarded.length >= 2 && access.forwarded.every((h) => !JSON.stringify(h).includes(SERVICE_SECRET)), 'Access strips the secret before the coordinator');

    const wrong = await cli('access', ['list'], { env: { CRABBOX_ACCESS_CLIENT_ID: SERVICE_ID, CRABBOX_ACCESS_CLIENT_SECRET: 'not-the-secret-0123456789' } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Access refused the credentials/);
  });

  it('the service token secret never reaches argv, output, the CLI\'s files or the coordinator\'s records', async () => {
    // Its own home and commands (no reliance on the test above), --debug for the most output, the secret straight from env.
    const env = { CRABBOX_ACCESS_CLIENT_ID: SERVICE_ID, CRABBOX_ACCESS_CLIENT_SECRET: SERVICE_SECRET };
    const mine: CliResult[] = [];
    const step = async (argv: string[], stdin?: string): Promise<CliResult> => {
      const r = await cli('access-leak', argv, { env, ...(stdin === undefined ? {} : { stdin }) });
      mine.push(r);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      return r;
    };
    await step(['--debug', 'login', '--url', access.url, '--token-stdin'], `${SHARED}\n`);
    const lease = leaseJson.parse(JSON.parse((await step(['--debug', 'warmup', '--json'])).stdout));
    // On the box (a local box: this machine), while the CLI and its ssh children run: every process's argv and the
    // box's env, written to files there (the CLI's output is redacted, so a leak would not show in it).
    await step(['--debug', 'run', '--id', lease.slug, '--', 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done > argv.txt; env > env.txt']);
    const found = (dir: string, name: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? found(join(dir, e.name), name) : e.name === name ? [join(dir, e.name)] : []));
    const [argvFile] = found(boxes.path, 'argv.txt');
    const [envFile] = found(boxes.path, 'env.txt');
    assert.ok(argvFile && envFile, 'the box wrote its files');
    const argvs = readFileSync(argvFile, 'utf8');
    assert.match(argvs, /crabbox.* run --id/, 'the CLI\'s own process is in the listing (sanity check of the probe)');
    assert.equal(argvs.includes(SERVICE_SECRET), false, 'the secret is in a process\'s argv');
    assert.equal(readFileSync(envFile, 'utf8').includes(SERVICE_SECRET), false, 'the secret reached the box\'s env');
    await step(['--debug', 'history', '--json']);
    await step(['--debug', 'stop', lease.slug]);
    for (const r of mine) assert.equal((r.stdout + r.stderr).includes(SERVICE_SECRET), false, 'the secret is in CLI output');
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const written = files(join(tmp.path, 'access-leak'));
    assert.ok(written.some((f) => f.endsWith('config.yaml')), 'the CLI wrote its files (sanity check of the probe)');
    for (const file of written) assert.equal(readFileSync(file, 'latin1').includes(SERVICE_SECRET), false, `${file} holds the secret`);
    const store = async (method: string, args: unknown[]): Promise<string> => {
      const res = await fetch(`${url}/__test/store`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-crabbox-test-fleet': 'behind-access' }, body: JSON.stringify({ method, args }) });
      return res.text();
    };
    const events = await store('listEvents', [{ limit: 500 }]);
    assert.match(events, /lease\.created/, 'the records are there (sanity check of the probe)');
    assert.equal(events.includes(SERVICE_SECRET), false, 'the secret is in the coordinator\'s events');
    const runs = await store('listRuns', [{ limit: 100 }]);
    assert.match(runs, /argv\.txt/, 'the run record is there (sanity check of the probe)');
    assert.equal(runs.includes(SERVICE_SECRET), false, 'the secret is in the coordinator\'s run records');
  });
});

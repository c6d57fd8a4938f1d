// Many concurrent `crabbox run --id` on one lease (real sshd and ssh multiplexing): each run's stderr carries only its
// command's output and crabbox's own summary, never ssh's multiplexing messages. On the local provider the box's sshd
// allows enough sessions; on a static host with sshd's stock MaxSessions 10 ssh falls back to connections of its own
// and crabbox keeps its messages out of the command's stream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { startStaticHost } from '../../src/testing/static-host.ts';
import { join } from 'node:path';
import { runBin, runCli } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-concurrent-' });
const { env } = sandbox;
const repo = join(sandbox.path, 'repo');
let slug = '';

const RUNS = 16;

/**
 * A command that holds its ssh session until `count` commands have started (each leaves a marker in a fresh shared
 * folder; the boxes here are this machine), so the sessions really overlap however loaded the machine is.
 * Gives up waiting after 90 s, so a refused session can never hang the test.
 */
const barriers: string[] = [];

function barrier(count: number): (body: string) => string[] {
  // Outside the sandbox, whose 0700 parents a lease user cannot traverse; removed with the others after the suite.
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-barrier-'));
  chmodSync(dir, 0o777);
  barriers.push(dir);
  let n = 0;
  return (body) => ['sh', '-c', `touch '${dir}/m${n++}'; i=0; while [ "$(ls '${dir}' | wc -l)" -lt ${count} ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done; ${body}`];
}

describe('concurrent runs on one lease', () => {
  before(async () => {
    initRepo(repo, { 'a.txt': 'a\n' });
    const warm = await runCli(['warmup', '--json'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
  });
  after(() => {
    for (const dir of barriers) rmSync(dir, { recursive: true, force: true });
    sandbox.remove();
  });

  const concurrentRuns = async (env: NodeJS.ProcessEnv, lease: string, extra: string[] = []): Promise<void> => {
    // One folder (so one workspace on the box) per run: all of them hold an ssh session at the same time.
    const command = barrier(RUNS);
    const results = await Promise.all(Array.from({ length: RUNS }, (_, i) => {
      const cwd = join(sandbox.path, `checkout-${i}`);
      mkdirSync(cwd, { recursive: true });
      return runBin(['run', ...extra, '--id', lease, '--no-sync', '--', ...command(`echo out-${i}; echo err-${i} >&2`)], { env, cwd, timeoutMs: 240_000 });
    }));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
      assert.equal(r.stdout, `out-${i}\n`);
      const lines = r.stderr.split('\n').filter(Boolean);
      const foreign = lines.filter((l) => l !== `err-${i}` && !/^crabbox: sync=off command=\S+ total=\S+ exit=0 run=run_[0-9a-f]{12} lease=\S+$/.test(l));
      assert.deepEqual(foreign, [], `run ${i}: stderr has nothing but the command's and the summary`);
    });
  };

  it(`${RUNS} runs at once on a local lease: every stderr has only the command's output and the summary line`, async () => {
    await concurrentRuns(env, slug);
  });

  it(`${RUNS} runs at once on a static host whose sshd allows 10 sessions: ssh's fallback stays out of the output`, async () => {
    const host = await startStaticHost({ maxSessions: 10 });
    const root = join(sandbox.path, 'static');
    const staticEnv = isolatedEnv(root);
    try {
      mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
      writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), stringify({ provider: 'ssh', static: { hosts: [host.entry(host.ports[0]!)] } }));
      const warm = await runBin(['warmup', '--provider', 'ssh', '--json'], { env: staticEnv });
      assert.equal(warm.code, 0, warm.stderr);
      const id = (JSON.parse(warm.stdout) as { id: string }).id;
      try {
        await concurrentRuns(staticEnv, id, ['--provider', 'ssh']);
        const held = barrier(12);
        const debug = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => runBin(['run', '--provider', 'ssh', '--debug', '--id', id, '--no-sync', '--', ...held('true')], { env: staticEnv, cwd: join(sandbox.path, `checkout-${i}`), timeoutMs: 240_000 })));
        assert.ok(debug.some((r) => /ssh: mux_client_request_session: session request failed/.test(r.stderr)), 'the host really refused sessions; --debug shows it');
      } finally {
        await runBin(['stop', '--provider', 'ssh', id], { env: staticEnv });
      }
    } finally {
      await host.stop();
    }
  });
});

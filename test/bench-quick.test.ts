// `npm run bench -- --quick` end to end, so the benchmarks never rot: every section runs on this machine (local
// provider, real sshd/rsync, a coordinator process) and reports numbers next to its floor. No timing thresholds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseLeftovers } from '../src/testing/leftovers.ts';
import { tempDir } from '../src/testing/tmp.ts';
import type { Results } from '../bench/lib/report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECTIONS = ['startup', 'warm', 'cold', 'sync', 'scale', 'coordinator', 'worker', 'streaming', 'dashboard', 'pool'];

/** The run's workspace (state dir with keys and machine dirs, boxes root) is gone, and no lease left a thing. */
function assertNothingLeft(results: Results): void {
  assert.ok(results.stateDir, 'the results name the workspace state dir');
  assert.ok(results.boxesRoot, 'the results name the boxes root');
  assert.equal(existsSync(results.stateDir), false, 'the state dir is removed');
  assert.equal(existsSync(results.boxesRoot), false, 'the boxes root is removed');
  for (const leaseId of results.leases) assert.deepEqual(leaseLeftovers({ stateDir: results.stateDir, leaseId, boxesRoot: results.boxesRoot }), [], leaseId);
}

describe('bench --quick', () => {
  it('produces every section with numeric values, floors and ratios, prints the table, and leaves no lease behind', (t) => {
    const tmp = tempDir('crabbox-bench-test-');
    t.after(() => tmp.remove());
    const out = join(tmp.path, 'results.json');
    // dist/ is built by the test set-up; rebuilding it here could race other tests that run bin/crabbox.
    const r = spawnSync(process.execPath, [join(root, 'bench/run.ts'), '--quick', '--no-build', '--out', out], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    assert.equal(results.quick, true);
    assert.deepEqual(results.sections.map((s) => s.id), SECTIONS);
    for (const section of results.sections) {
      assert.equal(section.unavailable, undefined, `${section.id}: ${section.unavailable}`);
      assert.ok(section.figures.length > 0, section.id);
      assert.ok(r.stdout.includes(`${section.id}. ${section.title}`), `the table names section ${section.id}`);
      for (const f of section.figures) {
        assert.ok(Number.isFinite(f.value) && f.value >= 0, `${section.id} ${f.name}: value ${f.value}`);
        assert.ok(f.runs >= 1, `${section.id} ${f.name}: runs`);
        if (f.floorName) {
          assert.ok(Number.isFinite(f.floor) && f.floor! > 0, `${section.id} ${f.name}: floor ${f.floor}`);
          assert.ok(Number.isFinite(f.ratio) && f.ratio! > 0, `${section.id} ${f.name}: ratio ${f.ratio}`);
        }
      }
      assert.ok(section.figures.some((f) => f.floorName) || section.id === 'cold', `${section.id} has a floor`);
    }
    const targets = results.sections.flatMap((s) => s.figures.filter((f) => f.target));
    assert.ok(targets.every((f) => typeof f.target!.met === 'boolean'));
    assert.equal(results.sections.filter((s) => s.id !== 'coordinator' && s.id !== 'worker').flatMap((s) => s.figures.filter((f) => f.target)).length, 12, 'start-up, warm rerun, three sync, three scale, the streaming and the dashboard runs list target, and the pool claim on local and against the fake cloud');
    // The coordinator's targets (issue 19), each against its floor: upstream's figure, the in-process server, or its own p50.
    const coordinator = results.sections.find((s) => s.id === 'coordinator')!;
    assert.match(coordinator.notes?.join('\n') ?? '', /synchronous=full/, 'the bench states the fsync setting it ran with');
    const named = (pattern: RegExp) => coordinator.figures.filter((f) => f.target && pattern.test(f.name));
    for (const [pattern, count] of [
      [/^lease create\+release, 1 client, /, 2], [/^lease create\+release, 8 clients, /, 2], [/^run create\+finish .* 1 client, /, 2], [/^run create\+finish .* 8 clients, /, 2],
      [/^heartbeat throughput, 64 clients$/, 1], [/^heartbeat p99, 64 clients$/, 1], [/^GET \/v1\/leases.*\) p50$/, 2], [/^GET \/v1\/leases.*\) p99$/, 2],
      [/^GET \/v1\/leases.* p99 vs its p50$/, 2], [/^GET \/v1\/runs .* p99 vs its p50$/, 2], [/^RSS idle with 100 leases$/, 1], [/^RSS while storing runs /, 1],
      [/^coordinator serve, lease create\+release/, 1],
    ] as const) {
      const found = named(pattern);
      assert.equal(found.length, count, `${pattern}: ${coordinator.figures.map((f) => f.name).join(' | ')}`);
      for (const f of found) assert.ok(f.floorName && Number.isFinite(f.ratio), `${f.name} has a floor and a ratio`);
    }
    // The Worker's targets (issue 16): each against upstream's Worker figure, measured in workerd.
    const worker = results.sections.find((s) => s.id === 'worker')!;
    assert.match(worker.notes?.join('\n') ?? '', /workerd/, 'the bench names the runtime it measured');
    const workerTargets = worker.figures.filter((f) => f.target).map((f) => f.name);
    for (const pattern of [/^lease create\+release, 1 client$/, /^lease create\+release, 8 clients$/, /^run create\+finish .* 1 client$/, /^run create\+finish .* 8 clients$/, /^heartbeat, 64 clients/, /^heartbeat p99, 64 clients$/, /^GET \/v1\/runs\?limit=50 p50/, /^workerd RSS/]) {
      assert.equal(workerTargets.filter((name) => pattern.test(name)).length, 1, `${pattern}: ${workerTargets.join(' | ')}`);
    }
    const floor = worker.figures.find((f) => f.name === 'harness floor: a trivial Worker, 1 client');
    assert.ok(floor && floor.value > 0 && !floor.target, 'the Worker section measures its harness floor, with no target of its own');
    const phases = results.sections.find((s) => s.id === 'cold')!.figures.map((f) => f.name.trim());
    for (const phase of ['prepare', 'lease', 'sync', 'command', 'release']) assert.ok(phases.includes(`phase: ${phase}`), phase);

    assert.ok(results.leases.length >= 2, 'a warm lease and a cold one');
    assertNothingLeft(results);
  });

  it('Ctrl-C during a section stops, releases the lease and removes the workspace (exit 130)', async (t) => {
    const tmp = tempDir('crabbox-bench-test-');
    t.after(() => tmp.remove());
    const out = join(tmp.path, 'results.json');
    const child = spawn(process.execPath, [join(root, 'bench/run.ts'), '--no-build', '--only', 'warm,cold', '--out', out], { cwd: root, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let interrupted = false;
    const code = await new Promise<number | null>((resolve) => {
      const deadline = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The warm lease exists once the warm section starts; interrupt the whole process group like a terminal does,
        // exactly once (a second SIGINT means "release now" to the bench, a different path).
        if (!interrupted && stderr.includes('bench: warm')) {
          interrupted = true;
          setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 300);
        }
      });
      child.on('close', (c) => {
        clearTimeout(deadline);
        resolve(c);
      });
    });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT, stopping after the current step/);
    assert.doesNotMatch(stderr, /again, releasing leases now/, 'one interrupt was sent');
    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    assert.ok(!results.sections.some((s) => s.id === 'cold'), 'no section starts after the signal');
    assert.ok(results.leases.length >= 1, 'the warm lease was made before the signal');
    assertNothingLeft(results);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runBin } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { startStaticHost, type StaticHostFixture } from '../../src/testing/static-host.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('leases remember their provider (local configured, a static host leased with --provider ssh)', () => {
  const root = mkdtempSync('/tmp/crabbox-e2e-index-');
  const env = isolatedEnv(root);
  let host: StaticHostFixture;
  let stateDir: string;
  before(async () => {
    host = await startStaticHost();
    // The default provider stays `local`; the ssh pool is only configured, never chosen by config.
    mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
    writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), stringify({ static: { hosts: [host.entry(host.ports[0]!)] } }));
    const shown = await runBin(['config', 'path', '--json'], { env });
    assert.equal(shown.code, 0, shown.stderr);
    stateDir = (json(shown.stdout) as { stateDir: string }).stateDir;
  });
  after(async () => {
    await host.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const indexFile = (id: string): string => join(stateDir, 'leases', id, 'lease.json');

  it('ssh, status, list and stop find an ssh-provider lease without --provider, and stop removes its index entry', async () => {
    const warm = await runBin(['warmup', '--provider', 'ssh', '--json'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const lease = json(warm.stdout);
    const id = lease.id as string;
    const slug = lease.slug as string;
    assert.equal(lease.provider, 'ssh');
    assert.ok(existsSync(indexFile(id)));
    assert.equal(statSync(indexFile(id)).mode & 0o777, 0o600);

    const ok = await runBin(['ssh', id, '--', 'echo', 'ok'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'ok\n');

    const status = await runBin(['status', slug, '--wait', '--timeout', '30s', '--json'], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(json(status.stdout).id, id);
    assert.equal(json(status.stdout).provider, 'ssh');
    assert.equal(json(status.stdout).ready, true);

    const list = await runBin(['list', '--json'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.includes(id), list.stdout);

    // An explicit --provider wins: the local provider has no such lease, and the ssh lease's keys are left alone.
    const wrong = await runBin(['stop', id, '--provider', 'local', '--json'], { env });
    assert.equal(wrong.code, 0, wrong.stderr);
    assert.equal(json(wrong.stdout).result, 'already-gone');
    assert.ok(existsSync(indexFile(id)));

    const stop = await runBin(['stop', id, '--json'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(json(stop.stdout).result, 'released');
    assert.ok(!existsSync(indexFile(id)), 'the index entry goes with the keys');
    assert.ok(!existsSync(join(host.home, 'crabbox-work', '.crabbox-claim')), 'the static host is free again');

    const after = await runBin(['list', '--json'], { env });
    assert.equal(after.code, 0, after.stderr);
    assert.ok(!after.stdout.includes(id), after.stdout);
  });

  it('an index entry whose machine was deleted behind crabbox is cleaned by cleanup, then resolves as not found', async () => {
    const warm = await runBin(['warmup', '--provider', 'ssh', '--json'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const { id, slug } = json(warm.stdout) as { id: string; slug: string };
    // Someone frees the host by hand: the claim is gone, the machine no longer exists for the ssh provider.
    rmSync(join(host.home, 'crabbox-work', '.crabbox-claim'), { force: true });
    rmSync(join(host.home, 'crabbox-work', id), { recursive: true, force: true });
    assert.ok(existsSync(indexFile(id)));

    const cleanup = await runBin(['cleanup', '--json'], { env });
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.deepEqual(json(cleanup.stdout).staleIndex, [id]);
    assert.ok(!existsSync(join(stateDir, 'leases', id)), 'index entry and keys removed');

    const status = await runBin(['status', slug], { env });
    assert.equal(status.code, ExitCode.notFound, status.stderr);
    assert.equal(status.stderr.trim().split('\n').length, 1, status.stderr);
    const stop = await runBin(['stop', id, '--json'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(json(stop.stdout).result, 'already-gone');
    assert.deepEqual(readdirSync(join(stateDir, 'leases')).filter((n) => n.startsWith('cbx_')), []);
  });
});

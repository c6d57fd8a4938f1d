import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runBin } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { startStaticHost, type StaticHostFixture } from '../../src/testing/static-host.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

describe('ssh provider through the CLI (a static host on 127.0.0.1)', () => {
  const root = mkdtempSync('/tmp/crabbox-e2e-static-');
  const env = isolatedEnv(root);
  let host: StaticHostFixture;
  // A pool user sets `provider: ssh` once; warmup also gets the flag, as a one-off user would pass it.
  const writeConfig = (hosts: unknown[]): void => {
    mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
    writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), stringify({ provider: 'ssh', static: { hosts } }));
  };
  before(async () => {
    host = await startStaticHost();
  });
  after(async () => {
    await host.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('warms up a static host, runs over ssh with the lease key, and stops twice leaving the host as it was', async () => {
    writeConfig([host.entry(host.ports[0]!)]);
    const before = readFileSync(host.authorizedKeys);
    const warm = await runBin(['warmup', '--provider', 'ssh', '--json'], { env });
    assert.equal(warm.code, 0, warm.stderr);
    const lease = json(warm.stdout);
    const id = lease.id as string;
    assert.equal(lease.provider, 'ssh');
    const machine = lease.machine as { sshUser: string; workRoot: string };
    assert.equal(machine.sshUser, host.user);
    assert.ok(existsSync(machine.workRoot));

    const busy = await runBin(['warmup', '--provider', 'ssh'], { env });
    assert.equal(busy.code, ExitCode.tempFail, busy.stderr);
    assert.match(busy.stderr, /no free host in the ssh pool/);

    const ok = await runBin(['ssh', id, '--', 'echo', 'ok'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'ok\n');

    const stop1 = await runBin(['stop', id], { env });
    assert.equal(stop1.code, 0, stop1.stderr);
    assert.match(stop1.stdout, /released/);
    const stop2 = await runBin(['stop', id, '--json'], { env });
    assert.equal(stop2.code, 0, stop2.stderr);
    assert.equal(json(stop2.stdout).result, 'already-gone');
    assert.ok(readFileSync(host.authorizedKeys).equals(before), 'authorized_keys is byte-identical again');
    assert.ok(!existsSync(join(host.home, 'crabbox-work', id)));
    assert.ok(!existsSync(join(host.home, 'crabbox-work', '.crabbox-claim')));
  });

  it('refuses a hostile host value in the config with one line and exit 78, before any ssh runs', async () => {
    writeConfig([{ ...host.entry(host.ports[0]!), host: '-oProxyCommand=touch /tmp/cbx-e2e-pwned' }]);
    const result = await runBin(['warmup', '--provider', 'ssh'], { env });
    assert.equal(result.code, ExitCode.config, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /host name or IP address/);
    assert.ok(!existsSync('/tmp/cbx-e2e-pwned'));
  });
});

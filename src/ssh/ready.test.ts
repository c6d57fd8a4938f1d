import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import type { Provider } from '../providers/provider.ts';
import { createDirectLeaseService } from '../leases/direct.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { tempDir } from '../testing/tmp.ts';
import { requireWritable } from '../testing/requires.ts';

/**
 * A bootstrapped box answers ssh before its bootstrap is done. The lease service must run the provider's ready
 * command over the real ssh transport and only use the box once it succeeds. The local provider is the ssh endpoint;
 * a wrapper declares a ready command: a script on the box's PATH that fails until a flag file exists.
 */
const BIN = '/usr/local/bin';

describe('readiness: the ready command gates a bootstrapped box', () => {
  const command = `crabbox-ready-t${randomBytes(4).toString('hex')}`;
  const script = join(BIN, command);
  let flags: string;
  const state = tempDir();
  let boxes: { path: string; remove(): void };

  before(() => {
    requireWritable(BIN, 'a test ready script on the box\'s PATH');
    flags = mkdtempSync('/var/tmp/crabbox-ready-test-');
    chmodSync(flags, 0o755);
    boxes = testBoxesRoot();
    writeFileSync(script, `#!/bin/sh\nif [ -e '${flags}/ready' ]; then echo ready; exit 0; fi\necho 'bootstrap still running' >&2\nexit 1\n`, { mode: 0o755 });
  });
  after(() => {
    rmSync(script, { force: true });
    rmSync(flags, { recursive: true, force: true });
    boxes.remove();
    state.remove();
  });

  const setup = (clock: ManualClock, log: (line: string) => void) => {
    const local = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
    const provider: Provider = { ...local, capabilities: { ...local.capabilities, readyCommand: command } };
    const config = {
      owner: 'ada@example.com',
      org: 'local',
      lease: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false },
      ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
      paths: { userConfig: join(state.path, 'config.yaml'), stateDir: state.path },
      coordinator: undefined,
    };
    return { local, leases: createDirectLeaseService({ config, provider, clock, log, readyTimeoutMs: 60_000 }) };
  };

  it('waits while the ready check fails and uses the box once it succeeds', async () => {
    const clock = new ManualClock(Date.now());
    const stopClock = clock.autoAdvance(); // the polls between checks wait on the injected clock only
    const failures: string[] = [];
    const { leases } = setup(clock, (line) => {
      if (!line.includes(`${command} exited`)) return;
      failures.push(line);
      if (failures.length === 2) writeFileSync(join(flags, 'ready'), ''); // the bootstrap finishes after two checks
    });
    const { lease } = await leases.create();
    try {
      assert.equal(failures.length, 2, 'the box was not used while its check failed');
      assert.match(failures[0]!, /exited 1: bootstrap still running/);
      assert.equal(lease.state, 'active');
    } finally {
      stopClock();
      await leases.release(lease);
      rmSync(join(flags, 'ready'), { force: true });
    }
  });

  it('gives up at the deadline with a one-line timeout and deletes the box', async () => {
    const clock = new ManualClock(Date.now());
    const { leases, local } = setup(clock, (line) => {
      if (line.includes(`${command} exited`)) clock.advance(61_000); // time passes only on the injected clock
    });
    const stopClock = clock.autoAdvance();
    try {
      await assert.rejects(leases.create(), (e: unknown) => isCrabboxError(e) && e.code === 'timeout' && /did not finish bootstrapping/.test(e.message) && !e.message.includes('\n'));
    } finally {
      stopClock();
    }
    assert.deepEqual(await local.list({ crabbox: 'true' }), [], 'nothing left running');
    assert.equal(existsSync(join(flags, 'ready')), false);
  });
});

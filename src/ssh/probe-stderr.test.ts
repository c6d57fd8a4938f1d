// A failed ssh's reason is on its stderr, and the 'exit' event can come before the pipe's last bytes are read: under
// load the reason ("Connection refused") was lost and the error said only "ssh ended with 255". An ssh that exits
// first and whose stderr arrives a moment later (here a stand-in on PATH whose last words come from a child that
// outlives it, which is the same ordering) must still be reported with its reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { probe } from './exec.ts';
import type { SshTarget } from './target.ts';

describe('probe keeps the reason of a failed ssh', () => {
  it('waits for stderr written after ssh exited, and reports the reason', async (t) => {
    const dir = tempDir('crabbox-probe-stderr-');
    t.after(() => dir.remove());
    const fake = join(dir.path, 'ssh');
    writeFileSync(fake, '#!/bin/sh\n( sleep 0.3; echo "ssh: connect to host 127.0.0.1 port 9: Connection refused" >&2 ) &\nexit 255\n');
    chmodSync(fake, 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${dir.path}:${saved}`;
    t.after(() => void (process.env.PATH = saved));
    const target: SshTarget = { host: '127.0.0.1', ports: [9], user: 'nobody', identityFile: join(dir.path, 'key'), knownHostsFile: join(dir.path, 'known_hosts'), controlPath: 'none', connectTimeoutSeconds: 1 };
    const result = await probe(target, 9);
    assert.equal(result.ok, false);
    assert.match((result as { stderr: string }).stderr, /Connection refused/);
    assert.equal((result as { kind: string }).kind, 'connect');
  });
});

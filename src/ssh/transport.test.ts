import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLeaseTransport, writeLeaseTransport } from './transport.ts';
import { probe, connect } from './exec.ts';
import type { SshTarget } from './target.ts';
import { tempDir } from '../testing/tmp.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { parseTransport, transportProblem } from '../domain/transport.ts';

const tmp = tempDir('crabbox-transport-');
after(() => tmp.remove());

describe('the recorded transport', () => {
  it('round-trips, reads a lease without a record as direct, and refuses a damaged record instead of guessing', () => {
    const dir = join(tmp.path, 'a');
    mkdirSync(dir);
    assert.deepEqual(readLeaseTransport(dir), { kind: 'direct' });
    writeLeaseTransport(dir, { kind: 'proxy-jump', jump: 'me@bastion.example.com:2200' });
    assert.deepEqual(readLeaseTransport(dir), { kind: 'proxy-jump', jump: 'me@bastion.example.com:2200' });
    writeFileSync(join(dir, 'transport.json'), '{"kind":"proxy-jump","jump":"-oProxyCommand=x"}');
    assert.throws(() => readLeaseTransport(dir), /is not a transport record; refusing to guess how to reach the box/);
  });

  it('values are checked by kind', () => {
    assert.equal(transportProblem({ kind: 'proxy-command', command: 'a\nb' })?.startsWith('expected one line'), true);
    assert.equal(transportProblem({ kind: 'proxy-jump', jump: 'a@b:22,c' }), undefined);
    assert.equal(transportProblem({ kind: 'cloudflare', hostname: 'mch-0123456789ab.boxes.example.com' }), undefined);
    assert.equal(parseTransport({ kind: 'cloudflare', hostname: 'x; rm -rf /' }), undefined);
    assert.equal(parseTransport({ kind: 'telnet' }), undefined);
  });
});

describe('a proxy whose program is missing (real ssh)', () => {
  const target = (transport: SshTarget['transport']): SshTarget => ({
    host: 'box.invalid', ports: [2222, 22], user: 'crabbox', identityFile: join(tmp.path, 'none'), knownHostsFile: join(tmp.path, 'kh'), controlPath: 'none', connectTimeoutSeconds: 5, oneShot: true, transport,
  });
  const rejectsWith = async (p: Promise<unknown>, pattern: RegExp): Promise<void> => {
    await assert.rejects(p, (error: unknown) => isCrabboxError(error) && error.code === 'missing_tool' && pattern.test(error.message));
  };

  it('is said at once in the user\'s terms (missing_tool), for a proxy command and for cloudflared', async () => {
    await rejectsWith(connect(target({ kind: 'proxy-command', command: 'crabbox-no-such-proxy %h %p' })), /the proxy command's program crabbox-no-such-proxy was not found/);
    const saved = process.env.PATH;
    process.env.PATH = '/usr/bin:/bin';
    try {
      await rejectsWith(connect(target({ kind: 'cloudflare', hostname: 'mch-0123456789ab.boxes.example.com' })), /reached through Cloudflare Access, and cloudflared is not installed here/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('a proxy that runs but cannot connect stays an ordinary, retryable connection failure', async () => {
    const result = await probe(target({ kind: 'proxy-command', command: 'sh -c "exit 1"' }), 2222);
    assert.equal(result.ok, false);
  });
});

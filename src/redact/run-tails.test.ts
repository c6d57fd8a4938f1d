import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { harness, PUBLIC_KEY } from '../coordinator/testkit.ts';
import { LogTail } from '../runs/log-tail.ts';
import { REDACTED } from './redact.ts';

/**
 * Issue 11 item 15 through the two places a run's output is stored: the local log tail and the coordinator's run
 * record. A bare JWT the command prints is hidden in both; an unset `NAME= undefined` is kept as it is.
 */
const b64 = (text: string): string => Buffer.from(text).toString('base64url');
const JWT = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64('{"sub":"deploy-bot","exp":1767225600}')}.${'dGhpcy1pcy1ub3QtYS1zaWduYXR1cmU'.repeat(2)}`;
const OUTPUT = `start\nfetched ${JWT}\nMYAPP_SECRET= undefined\ndone\n`;
const EXPECTED = `start\nfetched ${REDACTED}\nMYAPP_SECRET= undefined\ndone\n`;

describe('run tails redact bare JWTs and keep unset values', () => {
  it('local: the log tail, written in chunks that split the JWT', () => {
    const tail = new LogTail({ maxBytes: 64 * 1024 });
    for (let i = 0; i < OUTPUT.length; i += 7) tail.write(Buffer.from(OUTPUT.slice(i, i + 7)));
    tail.close();
    assert.equal(tail.snapshot().text, EXPECTED);
  });

  it('coordinator: the stored run record and its logs', async () => {
    const h = await harness();
    try {
      const token = await h.userToken('alice');
      const lease = (await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } })).json.lease;
      const run = (await h.request('POST', '/v1/runs', { token, body: { leaseId: lease.id, command: `curl -H "x: ${JWT}" https://api.example` } })).json.run;
      assert.equal((await h.request('POST', `/v1/runs/${run.id}/finish`, { token, body: { exitCode: 0, logTail: OUTPUT } })).status, 200);
      const logs = await h.request('GET', `/v1/runs/${run.id}/logs`, { token });
      assert.equal(logs.json.logTail, EXPECTED);
      const stored = JSON.stringify(await h.store.getRun(run.id));
      assert.ok(!stored.includes(JWT.split('.')[1]!), stored);
    } finally {
      await h.close();
    }
  });
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../testing/tmp.ts';
import { harness, PUBLIC_KEY, SHARED_TOKEN } from './testkit.ts';

const fileBytes = (path: string): string => ['', '-wal', '-shm'].map((s) => (existsSync(path + s) ? readFileSync(path + s).toString('latin1') : '')).join('\n');

describe('canary: secrets never reach the store file', () => {
  it('bearer tokens, forwarded secrets in commands and logs, and private keys are absent from the SQLite bytes', async () => {
    const dir = tempDir('crabbox-canary-');
    const path = join(dir.path, 'fleet.db');
    const h = await harness({ path });
    try {
      const token = await h.userToken('alice');
      const canaries = {
        userToken: token,
        sharedToken: SHARED_TOKEN,
        envValue: 'canaryEnvValue0001',
        github: 'ghp_canaryCANARYcanaryCANARY0123456789',
        bearer: 'canaryBearerValue0002xyz',
        wrongToken: 'canary-wrong-bearer-0003-long-enough',
        pem: 'canaryPemBody0004',
      };
      const lease = (await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } })).json.lease;
      const run = (await h.request('POST', '/v1/runs', { token, body: { leaseId: lease.id, command: `API_TOKEN=${canaries.envValue} npm test --auth ${canaries.github}` } })).json.run;
      const log = [
        `curl -H "Authorization: Bearer ${canaries.bearer}" https://example.test`,
        `SECRET_PASSWORD=${canaries.envValue}`,
        `token=${canaries.userToken}`,
        `shared ${canaries.sharedToken} leaked`,
        `-----BEGIN OPENSSH PRIVATE KEY-----\n${canaries.pem}\n-----END OPENSSH PRIVATE KEY-----`,
      ].join('\n');
      const finished = await h.request('POST', `/v1/runs/${run.id}/finish`, { token, body: { exitCode: 1, logTail: log, junit: { tests: 1, failures: 1, errors: 0, skipped: 0, failed: [`test uses ${canaries.github}`] } } });
      assert.equal(finished.status, 200);
      await h.request('GET', '/v1/whoami', { headers: { authorization: `Bearer ${canaries.wrongToken}` } });
      await h.request('GET', '/v1/whoami', { headers: { authorization: `Bearer ${canaries.userToken}x` } });
      await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token });
      await h.request('POST', `/v1/leases/${lease.id}/release`, { token });

      const logs = await h.request('GET', `/v1/runs/${run.id}/logs`, { token });
      assert.match(logs.json.logTail, /\[redacted\]/, 'the log tail was kept, redacted');
      const bytes = fileBytes(path);
      assert.ok(bytes.includes(lease.id), 'the file really holds the data (sanity check of the probe)');
      for (const [name, value] of Object.entries(canaries)) assert.equal(bytes.includes(value), false, `${name} found in the store file`);
      await h.close();
      const closed = fileBytes(path);
      for (const [name, value] of Object.entries(canaries)) assert.equal(closed.includes(value), false, `${name} found in the store file after checkpoint`);
    } finally {
      await h.close().catch(() => {});
      dir.remove();
    }
  });
});

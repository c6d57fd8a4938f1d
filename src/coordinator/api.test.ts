import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness, onTarget, PUBLIC_KEY, SHARED_TOKEN, type Harness } from './testkit.ts';

describe(onTarget('coordinator API'), () => {
  let h: Harness;
  let alice: string;
  before(async () => {
    h = await harness();
    alice = await h.userToken('alice');
  });
  after(() => h.close());

  const create = (body: Record<string, unknown> = {}, token = alice) => h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ...body } });

  it('health is public and says nothing else', async () => {
    const res = await h.request('GET', '/v1/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ok: true });
  });

  it('ready is public and says only ok (for load balancers); its detail and whoami answer an authenticated caller', async () => {
    const probe = await h.request('GET', '/v1/ready');
    assert.equal(probe.status, 200);
    assert.deepEqual(probe.json, { ok: true });
    assert.equal((await h.request('GET', '/v1/ready/detail')).status, 401);
    const detail = await h.request('GET', '/v1/ready/detail', { token: alice });
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.json, { ok: true, checks: { store: { ok: true, ms: 0 } }, draining: false, installation: 'test-install' });
    const who = await h.request('GET', '/v1/whoami', { token: alice });
    assert.deepEqual(who.json, { owner: 'alice@example.com', org: 'acme', login: 'alice', role: 'user', via: 'user-token', expiresAt: new Date(h.clock.now() + 3600_000).toISOString() });
  });

  it('creates a lease: host, ports, ssh user, work root and the pinned host key come back', async () => {
    const res = await create({ ttlSeconds: 3600, idleTimeoutSeconds: 600 });
    assert.equal(res.status, 201);
    const lease = res.json.lease;
    assert.match(lease.id, /^cbx_[0-9a-f]{12}$/);
    assert.equal(lease.state, 'active');
    assert.equal(lease.ttlSeconds, 3600);
    assert.deepEqual(lease.machine, { host: '127.0.0.1', ports: [2222, 22], sshUser: 'crabbox', workRoot: '/work/crabbox', hostKey: lease.machine.hostKey, type: 'fake-small' });
    assert.equal(lease.type, 'fake-small', 'the type that actually launched');
    assert.match(lease.machine.hostKey, /^ssh-ed25519 /);
    assert.equal(lease.reservedCost, 0.5);
    assert.equal(lease.idempotencyKey, undefined);
    const created = (await h.machines()).find((m) => m.providerId === '1');
    assert.equal(created?.labels['crabbox-installation'], 'test-install');
    assert.equal(created?.labels['crabbox-lease'], lease.id);
  });

  it('a retried create with the same idempotency key returns the same lease and makes no second machine', async () => {
    const first = await create({ idempotencyKey: 'retry-key-0001' });
    const machines = (await h.machines()).length;
    const again = await create({ idempotencyKey: 'retry-key-0001' });
    assert.equal(again.status, 200);
    assert.equal(again.json.created, false);
    assert.equal(again.json.lease.id, first.json.lease.id);
    assert.equal((await h.machines()).length, machines);
  });

  it('gets a lease by id and by slug; lists own leases with a state filter and cursor', async () => {
    const { json } = await create();
    await create();
    await create(); // three of alice's own, so a page of two has a next page whatever else ran
    assert.equal((await h.request('GET', `/v1/leases/${json.lease.id}`, { token: alice })).json.lease.id, json.lease.id);
    assert.equal((await h.request('GET', `/v1/leases/${json.lease.slug}`, { token: alice })).json.lease.id, json.lease.id);
    const page = await h.request('GET', '/v1/leases?limit=2', { token: alice });
    assert.equal(page.json.leases.length, 2);
    assert.ok(page.json.nextCursor);
    const next = await h.request('GET', `/v1/leases?limit=2&cursor=${page.json.nextCursor}`, { token: alice });
    assert.ok(next.json.leases.every((l: { id: string }) => !page.json.leases.some((p: { id: string }) => p.id === l.id)));
    assert.equal((await h.request('GET', '/v1/leases?state=released', { token: alice })).json.leases.length, 0);
  });

  it('release is idempotent and deletes the machine once', async () => {
    const { json } = await create();
    const providerId = (await h.machines()).find((m) => m.labels['crabbox-lease'] === json.lease.id)!.providerId;
    const first = await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: alice });
    assert.equal(first.status, 200);
    assert.equal(first.json.lease.state, 'released');
    const second = await h.request('POST', `/v1/leases/${json.lease.slug}/release`, { token: alice });
    assert.equal(second.status, 200);
    assert.equal(await h.deletions(providerId), 1);
    assert.equal((await h.machines()).some((m) => m.providerId === providerId), false);
  });

  it('heartbeat without a body touches; a released lease refuses heartbeats', async () => {
    const { json } = await create();
    h.clock.advance(60_000);
    const beat = await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice });
    assert.equal(beat.status, 200);
    assert.equal(Date.parse(beat.json.lease.lastTouchedAt), h.clock.now());
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: alice });
    const refused = await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice, body: {} });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error, 'lease_not_active');
  });

  it('runs: create, finish with a redacted log tail capped at 64 KiB, get, list, logs', async () => {
    const { json } = await create();
    const run = await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: json.lease.id, command: 'npm test' } });
    assert.equal(run.status, 201);
    const id = run.json.run.id;
    const log = `${'x'.repeat(100 * 1024)}\nexport GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\nAuthorization: Bearer sekrit-bearer-value-123\ndone\n`;
    const finished = await h.request('POST', `/v1/runs/${id}/finish`, { token: alice, body: { exitCode: 3, timings: { sync: 120, command: 4000 }, logTail: log, junit: { tests: 5, failures: 1, errors: 0, skipped: 1, failed: ['suite > case'] } } });
    assert.equal(finished.status, 200);
    assert.equal(finished.json.run.state, 'failed');
    assert.equal(finished.json.run.exitCode, 3);
    const logs = await h.request('GET', `/v1/runs/${id}/logs`, { token: alice });
    assert.equal(logs.json.truncated, true);
    assert.ok(Buffer.byteLength(logs.json.logTail) <= 64 * 1024);
    assert.match(logs.json.logTail, /done\n$/);
    assert.doesNotMatch(logs.json.logTail, /ghp_abcdefghij|sekrit-bearer-value/);
    assert.equal((await h.request('POST', `/v1/runs/${id}/finish`, { token: alice, body: { exitCode: 0 } })).status, 409);
    assert.equal((await h.request('GET', `/v1/runs/${id}`, { token: alice })).json.run.junit.failures, 1);
    const list = await h.request('GET', `/v1/runs?leaseId=${json.lease.id}`, { token: alice });
    assert.deepEqual(list.json.runs.map((r: { id: string }) => r.id), [id]);
    assert.equal(list.json.runs[0].logTail, undefined);
  });

  it('runs: what came back from the box is kept with the run, its paths redacted; a malformed list is a 400 that finishes nothing', async () => {
    const { json } = await create();
    const start = async () => (await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: json.lease.id } })).json.run.id as string;
    const id = await start();
    const artifacts = { dir: `.crabbox/artifacts/${id}`, files: 2, bytes: 1234, paths: ['coverage/lcov.info', 'logs/ghp_abcdefghijklmnopqrstuvwxyz0123456789.txt'], omitted: 0, skipped: 0 };
    const bad = await h.request('POST', `/v1/runs/${id}/finish`, { token: alice, body: { exitCode: 1, artifacts: { ...artifacts, paths: Array.from({ length: 201 }, (_, i) => `f${i}`) } } });
    assert.equal(bad.status, 400, JSON.stringify(bad.json));
    assert.equal((await h.request('GET', `/v1/runs/${id}`, { token: alice })).json.run.state, 'running', 'the bad finish changed nothing');
    const done = await h.request('POST', `/v1/runs/${id}/finish`, { token: alice, body: { exitCode: 1, artifacts } });
    assert.equal(done.status, 200, JSON.stringify(done.json));
    const run = (await h.request('GET', `/v1/runs/${id}`, { token: alice })).json.run;
    assert.deepEqual(run.artifacts, { ...artifacts, paths: ['coverage/lcov.info', 'logs/[redacted].txt'] });
    const none = await start();
    await h.request('POST', `/v1/runs/${none}/finish`, { token: alice, body: { exitCode: 0 } });
    assert.equal((await h.request('GET', `/v1/runs/${none}`, { token: alice })).json.run.artifacts, undefined);
  });

  it('runs: an interrupted run is state interrupted with its signal; a crabbox failure is error; ?state= filters; JUnit failures are objects', async () => {
    const { json } = await create();
    const start = async () => (await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: json.lease.id } })).json.run;
    const a = await start();
    assert.deepEqual([a.slug, a.provider], [json.lease.slug, 'fake'], 'the run names its lease\'s slug and provider');
    const junit = { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 1.5, files: [{ path: 'r.xml', status: 'ok', tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 1.5 }], failed: [{ kind: 'failure', suite: 'math', name: 'adds', file: 'math.test.js', line: 12, message: 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789' }], failedOmitted: 0, warnings: [] };
    const int = await h.request('POST', `/v1/runs/${a.id}/finish`, { token: alice, body: { exitCode: 143, interrupted: 'SIGTERM', remoteExitCode: 9, junit } });
    assert.equal(int.status, 200, JSON.stringify(int.json));
    assert.deepEqual([int.json.run.state, int.json.run.exitCode, int.json.run.source, int.json.run.interrupted, int.json.run.remoteExitCode], ['interrupted', 143, 'crabbox', 'SIGTERM', 9]);
    assert.deepEqual(int.json.run.junit.failed[0], { ...junit.failed[0], message: 'token [redacted]' });
    const b = await start();
    assert.equal((await h.request('POST', `/v1/runs/${b.id}/finish`, { token: alice, body: { exitCode: 74, source: 'crabbox' } })).json.run.state, 'error');
    const c = await start();
    const legacy = await h.request('POST', `/v1/runs/${c.id}/finish`, { token: alice, body: { exitCode: 1, junit: { tests: 3, failures: 1, errors: 0, skipped: 0, failed: ['suite > case'] } } });
    assert.deepEqual(legacy.json.run.junit.failed, [{ kind: 'failure', suite: '', name: 'suite > case' }], 'an older CLI\'s compact summary reads in the one shape');
    const byState = async (state: string) => (await h.request('GET', `/v1/runs?leaseId=${json.lease.id}&state=${state}`, { token: alice })).json.runs.map((r: { id: string }) => r.id);
    assert.deepEqual(await byState('interrupted'), [a.id]);
    assert.deepEqual(await byState('error'), [b.id]);
    assert.deepEqual(await byState('failed'), [c.id]);
    const bad = await h.request('GET', '/v1/runs?state=abandoned', { token: alice });
    assert.equal(bad.status, 400);
  });

  it('usage shows the caller\'s month by provider and type, with caps', async () => {
    assert.equal((await create()).status, 201);
    const res = await h.request('GET', '/v1/usage?month=2026-01', { token: alice });
    assert.equal(res.status, 200);
    assert.equal(res.json.month, '2026-01');
    assert.ok(res.json.usage.length >= 1);
    assert.ok(res.json.usage.every((u: { owner: string; provider: string }) => u.owner === 'alice@example.com' && u.provider === 'fake'));
    assert.deepEqual(res.json.caps, { activeLeases: {}, monthlySpend: {} });
  });

  it('events list the caller\'s own audit trail, newest first, without credentials', async () => {
    // A whole lifecycle of alice's own, and bob's lease beside it.
    const { json } = await create();
    const run = await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: json.lease.id, command: 'npm test' } });
    assert.equal((await h.request('POST', `/v1/runs/${run.json.run.id}/finish`, { token: alice, body: { exitCode: 0 } })).status, 200);
    assert.equal((await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: alice })).status, 200);
    assert.equal((await create({}, await h.userToken('bob'))).status, 201);
    const res = await h.request('GET', '/v1/events?limit=500', { token: alice });
    const types = new Set(res.json.events.map((e: { type: string }) => e.type));
    for (const t of ['lease.created', 'machine.provisioned', 'lease.released', 'machine.deleted', 'run.created', 'run.finished']) assert.ok(types.has(t), t);
    assert.ok(res.json.events.every((e: { owner: string }) => e.owner === 'alice@example.com'));
    const mine = res.json.events.filter((e: { leaseId?: string }) => e.leaseId === json.lease.id).map((e: { type: string }) => e.type);
    assert.equal(mine[0], 'machine.deleted', 'newest first');
    assert.equal(mine.at(-1), 'lease.created');
    assert.doesNotMatch(JSON.stringify(res.json), /cbxu_|Bearer|PRIVATE KEY/);
  });

  it('refused TTLs and idle timeouts name the body field and the allowed range, never clamped', async () => {
    const short = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 40, idleTimeoutSeconds: 20 } });
    assert.equal(short.status, 400);
    assert.equal(short.json.message, 'ttlSeconds: 40 is out of range; allowed 60 to 86400 seconds (1m to 24h)');
    assert.deepEqual(short.json.detail, { field: 'ttlSeconds', seconds: 40, min: 60, max: 86400, overTtl: false });
    const idle = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 600, idleTimeoutSeconds: 1200 } });
    assert.equal(idle.json.message, "idleTimeoutSeconds: 1200 is longer than the lease's ttlSeconds (600); allowed 60 to 600 seconds (1m to 10m)");
    const lease = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 600 } })).json.lease;
    assert.deepEqual([lease.ttlSeconds, lease.idleTimeoutSeconds], [600, 600], 'the default idle timeout shrinks to the TTL');
    const zero = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice, body: { idleTimeoutSeconds: 0 } });
    assert.equal(zero.status, 400);
    assert.equal(zero.json.message, 'idleTimeoutSeconds: 0 is out of range; allowed 60 to 600 seconds (1m to 10m)');
    await h.request('POST', `/v1/leases/${lease.id}/release`, { token: alice });
  });

  it('a month before 1970 is refused, not read as 19xx', async () => {
    const res = await h.request('GET', '/v1/usage?month=0050-03', { token: alice });
    assert.equal(res.status, 400);
    assert.equal(res.json.message, 'month: expected a month from 1970-01 on, like 2026-01');
    assert.equal((await h.request('GET', '/v1/usage?month=2026-03', { token: alice })).json.month, '2026-03');
  });

  describe('bad input is a one-line 4xx, never a 500', () => {
    const cases: [string, string, unknown, number, string][] = [
      ['unknown field', '/v1/leases', { sshPublicKey: PUBLIC_KEY, surprise: 1 }, 400, 'bad_request'],
      ['private key', '/v1/leases', { sshPublicKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----' }, 400, 'bad_request'],
      ['TTL beyond 24h', '/v1/leases', { sshPublicKey: PUBLIC_KEY, ttlSeconds: 90_000 }, 400, 'bad_request'],
      ['TTL under a minute', '/v1/leases', { sshPublicKey: PUBLIC_KEY, ttlSeconds: 40 }, 400, 'bad_request'],
      ['idle timeout longer than the TTL', '/v1/leases', { sshPublicKey: PUBLIC_KEY, ttlSeconds: 600, idleTimeoutSeconds: 1200 }, 400, 'bad_request'],
      ['fractional TTL', '/v1/leases', { sshPublicKey: PUBLIC_KEY, ttlSeconds: 90.5 }, 400, 'bad_request'],
      ['unknown provider', '/v1/leases', { sshPublicKey: PUBLIC_KEY, provider: 'nope' }, 400, 'bad_request'],
      ['not JSON', '/v1/leases', '{"sshPublicKey":', 400, 'bad_request'],
      ['array body', '/v1/leases', [1, 2], 400, 'bad_request'],
      ['run for a lease that does not exist', '/v1/runs', { leaseId: 'cbx_000000000000', command: 'x' }, 404, 'lease_not_found'],
    ];
    for (const [name, path, body, status, error] of cases) {
      it(name, async () => {
        const res = await h.request('POST', path, { token: alice, body });
        assert.equal(res.status, status, JSON.stringify(res.json));
        assert.equal(res.json.error, error);
        assert.equal(typeof res.json.message, 'string');
        assert.doesNotMatch(res.json.message, /\n|at .*\.ts:\d+/);
      });
    }

    it('hostile refs, bad cursors and bad queries are 400', async () => {
      for (const path of ['/v1/leases/..%2F..%2Fetc', '/v1/leases/DROP%20TABLE', '/v1/leases?cursor=garbage', '/v1/leases?limit=0', '/v1/leases?limit=abc', '/v1/leases?state=zombie', '/v1/leases?what=1', '/v1/runs/nope', '/v1/usage?month=2026-13', '/v1/usage?month=0050-03', '/v1/events?type=%00']) {
        const res = await h.request('GET', path, { token: alice });
        assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error, 'bad_request');
      }
    });

    it('wrong content type is 400', async () => {
      const res = await h.request('POST', '/v1/leases', { token: alice, body: JSON.stringify({ sshPublicKey: PUBLIC_KEY }), headers: { 'content-type': 'text/plain' } });
      assert.equal(res.status, 400);
    });

    it('unknown route 404, wrong method 405 with Allow, oversized body 413', async () => {
      const missing = await h.request('GET', '/v1/nope', { token: alice });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error, 'not_found');
      assert.equal((await h.request('GET', '/elsewhere')).status, 404);
      const wrong = await h.request('DELETE', '/v1/leases', { token: alice });
      assert.equal(wrong.status, 405);
      assert.match(wrong.headers.get('allow') ?? '', /GET/);
      // The coordinator answers 413 without reading the rest of the body. workerd then closes the connection, and a
      // client still writing the body can see the reset instead of the answer (a race on a loaded machine): that
      // attempt is made again; some attempt must get the answer.
      const body = JSON.stringify({ sshPublicKey: PUBLIC_KEY, pad: 'x'.repeat(2 * 1024 * 1024) });
      let huge: Awaited<ReturnType<Harness['request']>> | undefined;
      for (let attempt = 0; attempt < 5 && !huge; attempt++) {
        huge = await h.request('POST', '/v1/leases', { token: alice, body }).catch((error: Error & { cause?: { code?: string } }) => {
          if (error.cause?.code === 'ECONNRESET' || error.cause?.code === 'EPIPE') return undefined;
          throw error;
        });
      }
      assert.ok(huge, 'one of five attempts got an answer');
      assert.equal(huge.status, 413);
      assert.equal(huge.json.error, 'payload_too_large');
    });
  });

  it('fails closed: with no auth configured every route but health is 401', async () => {
    await using closed = await harness({ config: { auth: { sharedToken: undefined, sessionSecret: undefined } } });
    assert.equal((await closed.request('GET', '/v1/health')).status, 200);
    assert.equal((await closed.request('GET', '/v1/ready')).status, 200, 'the public readiness probe needs no auth');
    for (const [method, path] of [['GET', '/v1/ready/detail'], ['GET', '/v1/whoami'], ['GET', '/v1/leases'], ['POST', '/v1/leases'], ['GET', '/v1/admin/leases'], ['GET', '/v1/nope']]) {
      const res = await closed.request(method!, path!, { token: SHARED_TOKEN, headers: { 'x-crabbox-owner': 'root' } });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.json.error, 'unauthorized');
    }
  });

  it('refuses a session secret equal to the shared token', async () => {
    await assert.rejects(harness({ config: { auth: { sharedToken: 'same-secret-value-0123456789abcdef', sessionSecret: 'same-secret-value-0123456789abcdef' } } }), /must differ/);
  });
});

describe(onTarget('auth.denied events stay bounded under a flood'), () => {
  it('logs at most the per-minute budget and reports how many were suppressed', async () => {
    const { DENIALS_PER_MINUTE } = await import('./middleware/auth.ts');
    await using h = await harness();
    for (let i = 0; i < DENIALS_PER_MINUTE + 30; i++) assert.equal((await h.request('GET', '/v1/whoami')).status, 401);
    assert.equal((await h.store.listEvents({ type: 'auth.denied', limit: 500 })).items.length, DENIALS_PER_MINUTE);
    h.clock.advance(60_000);
    await h.request('GET', '/v1/whoami');
    const [latest] = (await h.store.listEvents({ type: 'auth.denied', limit: 1 })).items;
    assert.equal(latest?.data?.suppressedBefore, 30);
  });
});

describe(onTarget('readiness when the store does not answer'), () => {
  it('the public probe is a bare 503 {ok: false}; the authenticated detail names the failed check', async () => {
    const h = await harness();
    const token = await h.userToken('alice');
    await h.store.close();
    const probe = await h.request('GET', '/v1/ready');
    assert.equal(probe.status, 503);
    assert.deepEqual(probe.json, { ok: false });
    const detail = await h.request('GET', '/v1/ready/detail', { token });
    assert.equal(detail.status, 503);
    assert.equal(detail.json.checks.store.ok, false);
  });
});

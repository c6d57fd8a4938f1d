import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness, onTarget, PUBLIC_KEY, SHARED_TOKEN, type Harness } from './testkit.ts';

type Who = 'none' | 'malformed' | 'wrong' | 'expired' | 'userA' | 'userB' | 'userBSpoofingA' | 'maintainer' | 'admin' | 'sharedSpoofingAdmin';
const WHO: Who[] = ['none', 'malformed', 'wrong', 'expired', 'userA', 'userB', 'userBSpoofingA', 'maintainer', 'admin', 'sharedSpoofingAdmin'];

interface Fixture {
  leaseId: string;
  slug: string;
  runId: string;
  machineId: string;
}

interface Route {
  method: string;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** Expected status for A (the owner) / another user / maintainer / admin. The unauthenticated four always get 401. */
  owner: number;
  other: number;
  maintainer?: number;
  admin: number;
}

const OWN = (status: number): Pick<Route, 'owner' | 'other' | 'admin'> => ({ owner: status, other: 404, admin: status });
const ANY = (status: number): Pick<Route, 'owner' | 'other' | 'admin'> => ({ owner: status, other: status, admin: status });
const ADMIN: Pick<Route, 'owner' | 'other' | 'admin' | 'maintainer'> = { owner: 403, other: 403, maintainer: 403, admin: 200 };

const ROUTES: Route[] = [
  { method: 'GET', path: () => '/v1/ready/detail', ...ANY(200) },
  { method: 'GET', path: () => '/v1/whoami', ...ANY(200) },
  { method: 'POST', path: () => '/v1/leases', body: () => ({ sshPublicKey: PUBLIC_KEY }), ...ANY(201) },
  { method: 'GET', path: () => '/v1/leases', ...ANY(200) },
  { method: 'GET', path: (f) => `/v1/leases/${f.leaseId}`, ...OWN(200) },
  { method: 'GET', path: (f) => `/v1/leases/${f.slug}`, ...OWN(200) },
  { method: 'POST', path: (f) => `/v1/leases/${f.leaseId}/heartbeat`, ...OWN(200) },
  { method: 'POST', path: (f) => `/v1/leases/${f.slug}/release`, ...OWN(200) },
  { method: 'POST', path: () => '/v1/runs', body: (f) => ({ leaseId: f.leaseId, command: 'make' }), ...OWN(201) },
  { method: 'GET', path: () => '/v1/runs', ...ANY(200) },
  { method: 'GET', path: (f) => `/v1/runs/${f.runId}`, ...OWN(200) },
  { method: 'GET', path: (f) => `/v1/runs/${f.runId}/logs`, ...OWN(200) },
  { method: 'POST', path: (f) => `/v1/runs/${f.runId}/finish`, body: () => ({ exitCode: 0, logTail: 'ok' }), ...OWN(200) },
  { method: 'GET', path: () => '/v1/usage', ...ANY(200) },
  { method: 'GET', path: () => '/v1/events', ...ANY(200) },
  { method: 'GET', path: () => '/v1/pool', owner: 403, other: 403, maintainer: 200, admin: 200 },
  { method: 'GET', path: () => '/v1/admin/leases', ...ADMIN },
  { method: 'POST', path: (f) => `/v1/admin/leases/${f.leaseId}/release`, ...ADMIN },
  { method: 'DELETE', path: (f) => `/v1/admin/leases/${f.leaseId}`, ...ADMIN },
  { method: 'POST', path: () => '/v1/admin/drain', body: () => ({ draining: false }), ...ADMIN },
  { method: 'GET', path: () => '/v1/admin/usage', ...ADMIN },
  { method: 'GET', path: () => '/v1/admin/events', ...ADMIN },
  { method: 'GET', path: () => '/v1/admin/machines', ...ADMIN },
  { method: 'GET', path: (f) => `/v1/admin/machines/${f.machineId}`, ...ADMIN },
  { method: 'POST', path: (f) => `/v1/admin/machines/${f.machineId}/drain`, ...ADMIN },
  { method: 'POST', path: (f) => `/v1/admin/machines/${f.machineId}/undrain`, ...ADMIN },
  // No warm pool is configured here: an admin learns that (404); nobody else learns anything (403).
  { method: 'POST', path: () => '/v1/admin/pools/warm/drain', ...ADMIN, admin: 404 },
  { method: 'POST', path: () => '/v1/admin/pools/warm/undrain', ...ADMIN, admin: 404 },
];

function expected(route: Route, who: Who): number {
  switch (who) {
    case 'none': case 'malformed': case 'wrong': case 'expired': return 401;
    case 'userA': return route.owner;
    case 'admin': return route.admin;
    case 'maintainer': return route.maintainer ?? route.other;
    default: return route.other;
  }
}

/** A coordinator with tokens for every role and the request headers of every kind of caller. */
async function setup(): Promise<{ h: Harness; headers: Record<Who, Record<string, string>>; tokenA: string; adminToken: string; secrets: string[] }> {
  const h = await harness();
  const expired = await h.userToken('alice', { expiresInSeconds: 60 });
  h.clock.advance(61_000);
  const tokenA = await h.userToken('alice');
  const tokenB = await h.userToken('bob');
  const maintainer = await h.userToken('keeper');
  const adminToken = await h.userToken('root');
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const headers: Record<Who, Record<string, string>> = {
    none: {},
    malformed: { authorization: `Basic ${tokenA}` },
    wrong: bearer('not-the-shared-token-but-long-enough'),
    expired: bearer(expired),
    userA: bearer(tokenA),
    userB: bearer(tokenB),
    userBSpoofingA: { ...bearer(tokenB), 'x-crabbox-owner': 'alice@example.com', 'x-crabbox-org': 'acme' },
    maintainer: bearer(maintainer),
    admin: bearer(adminToken),
    sharedSpoofingAdmin: { ...bearer(SHARED_TOKEN), 'x-crabbox-owner': 'root', 'x-crabbox-org': 'acme' },
  };
  return { h, headers, tokenA, adminToken, secrets: [SHARED_TOKEN, tokenA, tokenB, maintainer, adminToken, expired] };
}

describe(onTarget('authorization matrix'), () => {
  let h: Harness;
  let headers: Record<Who, Record<string, string>>;
  let tokenA: string;
  let adminToken: string;

  before(async () => {
    ({ h, headers, tokenA, adminToken } = await setup());
  });
  after(() => h.close());

  async function fixture(): Promise<Fixture> {
    // Slugs are unique per owner, not globally: other callers' leases made by earlier rows may share alice's slug
    // by chance, and then "their own lease by that slug" is a correct 200. Pick a lease whose slug nobody else has.
    let lease = await h.request('POST', '/v1/leases', { token: tokenA, body: { sshPublicKey: PUBLIC_KEY } });
    for (let attempt = 0; attempt < 20; attempt++) {
      const all = await h.request('GET', '/v1/admin/leases?state=all&limit=500', { token: adminToken });
      const others = ((all.json.leases ?? []) as { slug: string; owner: string }[]).filter((l) => l.owner !== 'alice@example.com');
      if (!others.some((l) => l.slug === lease.json.lease.slug)) break;
      lease = await h.request('POST', '/v1/leases', { token: tokenA, body: { sshPublicKey: PUBLIC_KEY } });
    }
    assert.equal(lease.status, 201, JSON.stringify(lease.json));
    const run = await h.request('POST', '/v1/runs', { token: tokenA, body: { leaseId: lease.json.lease.id, command: 'npm test' } });
    assert.equal(run.status, 201, JSON.stringify(run.json));
    // The private log line really is stored, so "nobody else sees it" below is not vacuous.
    const finished = await h.request('POST', `/v1/runs/${run.json.run.id}/finish`, { token: tokenA, body: { exitCode: 1, logTail: 'alice-private-log-line' } });
    assert.equal(finished.status, 200, JSON.stringify(finished.json));
    assert.match((await h.request('GET', `/v1/runs/${run.json.run.id}/logs`, { token: tokenA })).json.logTail, /alice-private-log-line/);
    const second = await h.request('POST', '/v1/runs', { token: tokenA, body: { leaseId: lease.json.lease.id } });
    return { leaseId: lease.json.lease.id, slug: lease.json.lease.slug, runId: second.json.run.id, machineId: lease.json.lease.machineId };
  }

  for (const route of ROUTES) {
    it(`${route.method} ${route.path({ leaseId: ':lease', slug: ':slug', runId: ':run', machineId: ':machine' })}`, async () => {
      h.clock.advance(61_000); // a fresh auth.denied budget per route, so every denial below is recorded
      for (const who of WHO) {
        const f = await fixture();
        const body = route.body?.(f);
        const res = await h.request(route.method, route.path(f), { headers: headers[who], ...(body !== undefined ? { body } : {}) });
        const want = expected(route, who);
        assert.equal(res.status, want, `${who}: ${JSON.stringify(res.json)}`);
        if (want >= 400) {
          assert.equal(typeof res.json.error, 'string');
          const lease = await h.store.getLease(f.leaseId);
          assert.equal(lease?.state, 'active', `${who} changed nothing`);
          assert.equal((await h.store.getMachine(f.machineId))?.state, 'assigned', `${who} changed no machine`);
        }
        if (want === 404) {
          // Someone else's lease/run answers exactly like a missing one.
          const missing = await h.request(route.method, route.path({ leaseId: 'cbx_ffffffffffff', slug: 'no-such', runId: 'run_ffffffffffff', machineId: 'mch_ffffffffffff' }), { headers: headers[who], ...(body !== undefined ? { body: route.body?.({ leaseId: 'cbx_ffffffffffff', slug: 'no-such', runId: 'run_ffffffffffff', machineId: 'mch_ffffffffffff' }) } : {}) });
          assert.equal(missing.status, 404);
          assert.equal(res.json.error, missing.json.error);
        }
        if (route.path(f) === '/v1/pool' && res.status === 200) {
          // Maintainers see the warm pools: counts and latencies, never a lease, an owner or a connection detail.
          assert.ok(Array.isArray(res.json.pools));
          assert.ok(!JSON.stringify(res.json).includes(f.leaseId) && !JSON.stringify(res.json).includes('alice@example.com'));
        } else if (who !== 'userA' && who !== 'admin' && res.status < 400) {
          const text = JSON.stringify(res.json);
          assert.ok(!text.includes(f.leaseId) && !text.includes(f.runId) && !text.includes('alice@example.com') && !text.includes('alice-private-log-line'), `${who} must not see alice's data: ${text.slice(0, 300)}`);
        }
      }
    });
  }

  it('health is public for everyone', async () => {
    for (const who of WHO) assert.equal((await h.request('GET', '/v1/health', { headers: headers[who] })).status, 200);
  });

  it('identities: headers never override a user token; the shared token never grants more than its configured role', async () => {
    const spoof = await h.request('GET', '/v1/whoami', { headers: headers.userBSpoofingA });
    assert.equal(spoof.json.owner, 'bob@example.com');
    const shared = await h.request('GET', '/v1/whoami', { headers: headers.sharedSpoofingAdmin });
    assert.deepEqual([shared.json.owner, shared.json.role, shared.json.via], ['root', 'user', 'shared-token']);
    const noOwner = await h.request('GET', '/v1/whoami', { headers: { authorization: `Bearer ${SHARED_TOKEN}` } });
    assert.equal(noOwner.status, 401);
    const hostile = await h.request('GET', '/v1/whoami', { headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': '../../etc passwd' } });
    assert.equal(hostile.status, 401);
  });

  it('every denial is an auth.denied event without the credential', async (t) => {
    // A coordinator of its own: the denials are made here, whatever else ran.
    const own = await setup();
    t.after(() => own.h.close());
    const lease = await own.h.request('POST', '/v1/leases', { token: own.tokenA, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(lease.status, 201);
    const id = lease.json.lease.id as string;
    const denials: [Who, string, string, number][] = [
      ['none', 'GET', '/v1/whoami', 401], ['malformed', 'GET', '/v1/whoami', 401], ['wrong', 'GET', '/v1/whoami', 401], ['expired', 'GET', '/v1/whoami', 401],
      ['userB', 'GET', `/v1/leases/${id}`, 404], ['userA', 'GET', '/v1/admin/leases', 403], ['userA', 'GET', '/v1/pool', 403],
    ];
    for (const [who, method, path, status] of denials) assert.equal((await own.h.request(method, path, { headers: own.headers[who] })).status, status, `${who} ${method} ${path}`);
    const reasons = (await own.h.store.listEvents({ type: 'auth.denied', limit: 500 })).items.map((e) => e.data?.reason);
    assert.deepEqual(reasons.sort(), ['expired', 'malformed', 'missing', 'needs-admin', 'needs-maintainer', 'other-owner', 'wrong-token']);
    const all = JSON.stringify((await own.h.store.listEvents({ limit: 500 })).items);
    for (const secret of own.secrets) assert.ok(!all.includes(secret), 'no credential in any event');
  });
});

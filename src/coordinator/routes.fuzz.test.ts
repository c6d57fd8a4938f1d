import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzParams, hostileString } from '../testing/fuzz.ts';
import { harness, PUBLIC_KEY, SHARED_TOKEN, type Harness } from './testkit.ts';

/**
 * Every route of the coordinator under generated requests (methods, path segments, queries, headers, bodies),
 * through `app.request()`: never a 5xx, never a stack trace, and another owner's lease, run or log never comes
 * back to bob or to an anonymous caller.
 */

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'];
/** Every field name any route reads, so generated bodies and queries reach the validators and beyond. */
const FIELDS = [
  'sshPublicKey', 'ttlSeconds', 'idleTimeoutSeconds', 'keep', 'provider', 'class', 'type', 'idempotencyKey', 'sshCidrs', 'leaseId', 'command', 'exitCode',
  'logTail', 'timings', 'junit', 'interrupted', 'source', 'draining', 'secretHash', 'port', 'loginId', 'secret', 'code', 'state', 'limit', 'cursor',
  'month', 'by', 'owner', 'org', 'lease', 'all', '__proto__', 'constructor',
];
const HEADERS = ['content-type', 'x-crabbox-owner', 'x-crabbox-org', 'cf-access-jwt-assertion', 'accept', 'user-agent', 'x-forwarded-for', 'cookie', 'origin', 'if-none-match'];
type Caller = 'alice' | 'bob' | 'none' | 'maintainer' | 'admin';
/** Only what an HTTP client can actually send in a header value. */
const headerValue = fc.oneof(fc.string({ maxLength: 60, unit: 'grapheme-ascii' }), fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data', '', 'alice@example.com', 'root'));
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString(), fc.integer(), fc.double(), fc.constant(PUBLIC_KEY)), { maxKeys: 6 }),
);

/** A URL can only carry well-formed text: lone surrogates become U+FFFD first, as a client's encoder would. */
const encode = (text: string): string => encodeURIComponent(text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

describe('coordinator routes under generated requests (fast-check)', () => {
  let h: Harness;
  const tokens: Record<Caller, string | undefined> = { alice: undefined, bob: undefined, none: undefined, maintainer: undefined, admin: undefined };
  const secret = 'alice-private-log-7f3a9c';
  const alice = { leaseId: '', slug: '', runId: '', released: '', machineId: '' };
  /** Every route the app serves, read from the app itself, so a new route is fuzzed without anyone listing it. */
  let routes: [string, string][] = [];

  before(async () => {
    h = await harness({
      config: {
        caps: { activeLeases: { owner: 20 }, monthlySpend: {} },
        login: { publicUrl: 'https://coordinator.test', github: { clientId: 'fuzz-client', clientSecret: 'fuzz-client-secret-0123456789', webUrl: 'http://127.0.0.1:9', apiUrl: 'http://127.0.0.1:9', orgs: ['acme'], teams: [] } },
      },
    });
    for (const login of ['alice', 'bob'] as const) tokens[login] = await h.userToken(login, { expiresInSeconds: 86_400 });
    tokens.maintainer = await h.userToken('keeper', { expiresInSeconds: 86_400 });
    tokens.admin = await h.userToken('root', { expiresInSeconds: 86_400 });
    const lease = await h.request('POST', '/v1/leases', { token: tokens.alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(lease.status, 201);
    const run = await h.request('POST', '/v1/runs', { token: tokens.alice, body: { leaseId: lease.json.lease.id, command: 'npm test' } });
    assert.equal(run.status, 201);
    assert.equal((await h.request('POST', `/v1/runs/${run.json.run.id}/finish`, { token: tokens.alice, body: { exitCode: 1, logTail: secret } })).status, 200);
    const gone = await h.request('POST', '/v1/leases', { token: tokens.alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal((await h.request('POST', `/v1/leases/${gone.json.lease.id}/release`, { token: tokens.alice })).status, 200);
    Object.assign(alice, { leaseId: lease.json.lease.id, slug: lease.json.lease.slug, runId: run.json.run.id, released: gone.json.lease.id, machineId: lease.json.lease.machineId ?? '' });
    routes = [...new Set(h.app.routes.filter((r) => r.method !== 'ALL' && !r.path.includes('*')).map((r) => `${r.method} ${r.path}`))].map((r) => r.split(' ') as [string, string]);
    assert.ok(routes.length >= 30, `the app's routes: ${routes.length}`);
  });
  after(() => h.close());

  const segment = (): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('alice-lease', 'alice-slug', 'alice-run', 'alice-released', 'alice-machine').map((k) => ({ 'alice-lease': alice.leaseId, 'alice-slug': alice.slug, 'alice-run': alice.runId, 'alice-released': alice.released, 'alice-machine': alice.machineId })[k]!) },
      { weight: 3, arbitrary: hostileString(40).map(encode) },
      { weight: 1, arbitrary: fc.constantFrom('..%2F..%2Fetc', '%00', '%zz', '%', 'a%2Fb', '.', '..', '%2e%2e', alice.leaseId.toUpperCase(), `${alice.leaseId}%00`) },
    );

  const request = () =>
    fc.record({
      caller: fc.constantFrom<Caller>('bob', 'bob', 'bob', 'none', 'alice', 'maintainer', 'admin'),
      // Half the requests name a lease, run or machine: that is where another owner's records could come back.
      route: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...routes) }, { weight: 5, arbitrary: fc.constantFrom(...routes.filter(([, p]) => p.includes(':'))) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...METHODS), hostileString(30).map((p) => `/v1/${encode(p)}`)) }),
      method: fc.option(fc.constantFrom(...METHODS), { freq: 6 }),
      ref: segment(),
      query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), hostileString(10)), hostileString(30)), { maxLength: 4 }),
      headers: fc.dictionary(fc.constantFrom(...HEADERS), headerValue, { maxKeys: 3 }),
      authorization: fc.option(fc.oneof(headerValue, fc.constantFrom(`Bearer ${SHARED_TOKEN}`, 'Bearer ', 'Basic YWxpY2U6cHc=', 'Bearer cbxu_x.y.z')), { freq: 8 }),
      body: fc.option(fc.oneof(jsonish.map((v) => JSON.stringify(v)), hostileString(200), fc.constantFrom('{', '{"sshPublicKey":', 'null', '[]', '"x"', '1')), { freq: 4 }),
    });

  /** Every object in an answer that is one of alice's records: owned by her, or carrying one of her ids as its `id`. */
  const aliceRecords = (value: unknown): unknown[] => {
    const ids = new Set([alice.leaseId, alice.runId, alice.released, alice.machineId].filter(Boolean));
    const found: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (o.owner === 'alice@example.com' || (typeof o.id === 'string' && ids.has(o.id))) found.push(o);
      Object.values(o).forEach(walk);
    };
    walk(value);
    return found;
  };

  it('never answers 5xx or a stack trace, and never another owner\'s lease, run or log', async () => {
    const stats = new Map<number, number>();
    const reached = new Set<string>();
    type Req = ReturnType<typeof request> extends fc.Arbitrary<infer R> ? R : never;
    const probe = async (r: Req): Promise<void> => {
      const [routeMethod, template] = r.route;
      if (r.method === null) reached.add(`${routeMethod} ${template}`);
      const method = r.method ?? routeMethod;
      const path = template.replace(/:\w+/g, r.ref);
      const query = r.query.length ? `?${new URLSearchParams(r.query).toString()}` : '';
      const headers: Record<string, string> = { ...r.headers };
      const token = tokens[r.caller];
      if (token) headers.authorization = `Bearer ${token}`;
      else if (r.authorization !== null) headers.authorization = r.authorization;
      const withBody = r.body !== null && method !== 'GET' && method !== 'HEAD';
      const res = await h.app.request(`${path}${query}`, { method, headers, ...(withBody ? { body: r.body! } : {}) });
      const text = await res.text();
      stats.set(res.status, (stats.get(res.status) ?? 0) + 1);
      const where = `${r.caller} ${method} ${path}${query} -> ${res.status} ${text.slice(0, 300)}`;
      assert.ok(res.status < 500, where);
      assert.doesNotMatch(text, /\n\s+at |\.ts:\d+|node:internal|"stack"/, `stack trace: ${where}`);
      if (r.caller === 'bob' || r.caller === 'none') {
        // alice's private log line is nowhere in any answer; no answer holds one of alice's records (an object that is
        // hers, or has one of her ids as its own). An echo of a ref the caller typed (a 404 naming it, its own
        // auth.denied event naming the path it tried) is not a record.
        assert.ok(!text.includes(secret), `${r.caller} saw alice's log: ${where}`);
        const leaked = aliceRecords(text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined);
        assert.deepEqual(leaked, [], `${r.caller} got alice's records: ${where}`);
      }
      if (res.status >= 400 && method !== 'HEAD' && res.headers.get('content-type')?.includes('json')) {
        const body = JSON.parse(text) as { error?: unknown; message?: unknown };
        assert.equal(typeof body.error, 'string', where);
        assert.equal(typeof body.message, 'string', where);
        assert.doesNotMatch(body.message as string, /\n/, `one-line message: ${where}`);
      }
    };
    // Every route the app serves, by every kind of caller, with its own method and one of alice's ids: a new route is
    // covered however the generator's draws fall. Then the generated requests.
    const refFor = (template: string): string => (template.includes('/runs/') ? alice.runId : template.includes('/machines/') ? alice.machineId : alice.leaseId);
    for (const route of routes) {
      for (const caller of ['alice', 'bob', 'none', 'maintainer', 'admin'] as const) {
        await probe({ caller, route, method: null, ref: refFor(route[1]), query: [], headers: {}, authorization: null, body: null });
      }
    }
    await fc.assert(fc.asyncProperty(request(), probe), fuzzParams(1500));
    assert.deepEqual(routes.map((r) => r.join(' ')).filter((r) => !reached.has(r)), [], 'every route was requested');
    // The generator reached past the validators: successes and refusals of several kinds.
    for (const status of [200, 400, 401, 404]) assert.ok((stats.get(status) ?? 0) > 0, `no ${status} among ${JSON.stringify([...stats])}`);
    // alice's data was really there to leak.
    const logs = await h.request('GET', `/v1/runs/${alice.runId}/logs`, { token: tokens.alice });
    assert.match(logs.json.logTail, new RegExp(secret));
  });
});

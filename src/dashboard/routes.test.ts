import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../domain/clock.ts';
import { seedDashboard, type Seeded } from '../testing/dashboard-seed.ts';
import { DASH_URL, dashHarness, type DashHarness } from '../testing/dashboard.ts';
import type { ScriptedBrowser } from '../testing/login-browser.ts';
import { ASSETS, contentHash } from './assets/index.ts';

/** The dashboard's route table as a whole: who may reach what, what every page sends, what no page contains. */
describe('dashboard routes', () => {
  let h: DashHarness;
  let seed: Seeded;
  let alice: ScriptedBrowser;
  let bob: ScriptedBrowser;
  let carol: ScriptedBrowser;
  let machineOfBob: string;

  before(async () => {
    h = await dashHarness({ admins: ['github-1003'], maintainers: ['github-1002'], clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    seed = await seedDashboard(h);
    alice = await h.signIn('alice');
    bob = await h.signIn('bob');
    carol = await h.signIn('carol');
    machineOfBob = (await h.store.getLease(seed.bobLease.id))!.machineId!;
  });
  after(() => h.close());

  /** Every route the dashboard serves, with its parameters filled in for `who`'s own things. */
  const dashboardRoutes = () => h.app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/v1') && !r.path.startsWith('/assets/'));
  const fill = (path: string, ids: { lease: string; run: string; machine: string; session: string }) =>
    path.replace(':ref', ids.lease).replace(/^\/machines\/:id/, `/machines/${ids.machine}`).replace(/^\/sessions\/:id/, `/sessions/${ids.session}`).replace(':id', ids.run);
  const sessionOf = (b: ScriptedBrowser) => b.jar.get(DASH_URL)!.get('__Host-crabbox_session')!.split('.')[0]!;

  it('every route but sign-in needs a session: pages send the browser to sign in, fragments and forms get 401', async () => {
    const routes = dashboardRoutes();
    assert.ok(routes.length >= 18, `expected the whole table, found ${routes.length}`);
    const ids = { lease: seed.aliceLeases[0]!.id, run: seed.failedRun, machine: machineOfBob, session: sessionOf(alice) };
    for (const r of routes) {
      const path = fill(r.path, ids);
      const res = await h.app.request(`${DASH_URL}${path}`, { method: r.method, headers: { origin: DASH_URL, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' }, ...(r.method === 'POST' ? { body: '' } : {}) });
      if (path === '/login') {
        assert.ok(res.status === 200 || res.status === 303, `${r.method} ${path}: ${res.status}`);
        continue;
      }
      if (r.method === 'GET' && !path.startsWith('/live/')) {
        assert.equal(res.status, 303, `${r.method} ${path}`);
        assert.equal(res.headers.get('location'), '/login');
      } else assert.equal(res.status, 401, `${r.method} ${path}`);
    }
    assert.equal((await h.store.getLease(seed.aliceLeases[0]!.id))?.state, 'active', 'nothing happened');
  });

  it('every page sends the strict CSP as a header, with no inline script, style or handler, and a script nonce that matches', async () => {
    const pages = ['/', '/runs', `/runs/${seed.failedRun}`, `/leases/${seed.bobLease.id}`, '/usage', '/pool', '/machines', `/machines/${machineOfBob}/drain`, '/audit', '/sessions', `/leases/cbx_000000000000`];
    for (const path of [...pages, '/login']) {
      const res = await h.open(path === '/login' ? h.browser() : carol, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self'", "require-trusted-types-for 'script'"]) assert.ok(csp.includes(directive), `${path}: ${directive} in ${csp}`);
      const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)' 'strict-dynamic'/.exec(csp)?.[1];
      assert.ok(nonce, `${path}: a nonce-only script-src`);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      const scripts = [...res.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.equal(scripts.length, 1, path);
      assert.match(scripts[0]![1]!, new RegExp(`src="${ASSETS.script.path}" nonce="${nonce!.replace(/[+/]/g, '\\$&')}"`), path);
      assert.equal(scripts[0]![2], '', `${path}: no inline script`);
      assert.doesNotMatch(res.text, /\sstyle=|<style|\son[a-z]+=|javascript:/i, `${path}: no inline style, handler or javascript: URL`);
      if (path !== '/login') assert.ok(!res.text.includes(h.deps.config.auth.sessionSecret!) && !res.text.includes(seed.tokens.alice), `${path}: no secret or token`);
    }
  });

  it('someone else\'s lease, run, machine or session reads exactly like one that does not exist, through every URL', async () => {
    const mine = seed.aliceLeases[0]!;
    const theirs = { lease: seed.bobLease.id, run: seed.bobRun };
    const made = { lease: 'cbx_0123456789ab', run: 'run_0123456789ab' };
    const scrub = (text: string) => text.replace(/nonce-[^'"]+|nonce="[^"]+"|name="csrf" value="[0-9a-f]+"/g, '').replace(theirs.lease, 'ID').replace(made.lease, 'ID').replace(theirs.run, 'ID').replace(made.run, 'ID');
    const pairs: [string, string][] = [
      [`/leases/${theirs.lease}`, `/leases/${made.lease}`],
      [`/leases/${seed.bobLease.slug}`, '/leases/absent-walrus'],
      [`/runs/${theirs.run}`, `/runs/${made.run}`],
      [`/live/runs/${theirs.run}`, `/live/runs/${made.run}`],
      [`/audit?lease=${theirs.lease}`, `/audit?lease=${made.lease}`],
    ];
    // Lists show only her own (checked first: her own denials below name what she asked for, in her audit trail).
    for (const path of ['/', '/runs', '/audit', '/usage']) {
      const page = await h.open(alice, path);
      assert.ok(!page.text.includes(theirs.lease) && !page.text.includes(theirs.run) && !page.text.includes(seed.bobLease.slug), `${path} shows nothing of bob's`);
    }
    assert.match((await h.open(alice, '/')).text, new RegExp(mine.id));
    for (const [other, none] of pairs) {
      const a = await h.open(alice, other);
      const b = await h.open(alice, none);
      assert.equal(a.status, 404, other);
      assert.equal(b.status, 404, none);
      assert.equal(scrub(a.text), scrub(b.text).replace('absent-walrus', seed.bobLease.slug), `${other} must read like ${none}`);
    }
    const release = await h.submit(alice, `/leases/${theirs.lease}/release`);
    assert.equal(release.status, 404);
    assert.equal((await h.store.getLease(theirs.lease))?.state, 'active', 'bob\'s lease still lives');
    assert.equal((await h.submit(alice, `/leases/${seed.bobLease.slug}/release`)).status, 404);
    assert.equal((await h.submit(alice, `/sessions/${sessionOf(bob)}/revoke`)).status, 404);
    assert.ok(await h.store.getWebSession(sessionOf(bob)));
    const reasons = await h.deniedReasons();
    assert.ok(reasons.filter((r) => r === 'other-owner').length >= 4);
  });

  it('roles gate pages as they gate the API: pool for maintainers, machines and drain for admins', async () => {
    for (const path of ['/pool', '/machines', `/machines/${machineOfBob}/drain`]) assert.equal((await h.open(alice, path)).status, 403, path);
    assert.equal((await h.submit(alice, `/machines/${machineOfBob}/drain`, { confirm: 'drain' })).status, 403);
    assert.equal((await h.store.getMachine(machineOfBob))?.state, 'assigned');
    assert.equal((await h.open(bob, '/pool')).status, 200, 'a maintainer sees the pool');
    assert.equal((await h.open(bob, '/machines')).status, 403);
    const nav = (await h.open(alice, '/')).text;
    assert.ok(!nav.includes('href="/pool"') && !nav.includes('href="/machines"'), 'a user is not offered them');
    const adminNav = (await h.open(carol, '/')).text;
    assert.ok(adminNav.includes('href="/pool"') && adminNav.includes('href="/machines"'));
  });

  it('a form post without the session\'s CSRF token, with a wrong one, or from another site is refused; the page\'s own form works', async () => {
    const lease = seed.aliceLeases[0]!.id;
    assert.equal((await h.submit(alice, `/leases/${lease}/release`, {}, { csrf: null })).status, 403);
    assert.equal((await h.submit(alice, `/leases/${lease}/release`, {}, { csrf: 'a'.repeat(64) })).status, 403);
    assert.equal((await h.submit(alice, `/leases/${lease}/release`, {}, { csrf: await h.csrf(bob) })).status, 403, 'another session\'s token');
    const token = await h.csrf(alice);
    const crossSite = await alice.post(`${DASH_URL}/leases/${lease}/release`, { csrf: token }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.status, 403, 'Hono\'s csrf(): another origin');
    assert.equal((await h.store.getLease(lease))?.state, 'active');
    assert.ok((await h.deniedReasons()).includes('csrf-token'));
    const ok = await h.submit(alice, `/leases/${lease}/release`);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), `/?released=${seed.aliceLeases[0]!.slug}`);
    assert.equal((await h.store.getLease(lease))?.state, 'released');
    // A script on the page sends the token as a header instead.
    const fetched = await alice.post(`${DASH_URL}/leases/${seed.aliceLeases[1]!.id}/release`, {}, { 'x-csrf-token': token, 'sec-fetch-site': 'same-origin', origin: DASH_URL });
    assert.equal(fetched.status, 303);
  });

  it('live fragments carry an ETag of what they show: unchanged is a 304, a new lease changes it', async () => {
    const first = await h.open(bob, '/live/mine');
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^W\/"[0-9a-f]{16}"$/);
    assert.doesNotMatch(first.text, /<html|<head/, 'a fragment, not a page');
    const again = await h.open(bob, '/live/mine', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    h.clock.advance(5000);
    assert.equal((await h.open(bob, '/live/mine', { 'if-none-match': etag })).status, 304, 'time passing alone changes nothing the fragment says');
    await h.request('POST', '/v1/leases', { token: seed.tokens.bob, body: { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t' } });
    const changed = await h.open(bob, '/live/mine', { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    const run = await h.open(alice, `/live/runs/${seed.runningRun}`);
    assert.doesNotMatch(run.text, /data-live-end/, 'a running run keeps polling');
    assert.match((await h.open(alice, `/live/runs/${seed.failedRun}`)).text, /data-live-end/, 'a finished one stops');
  });

  it('assets are served at their content hash with a year-long immutable lifetime', async () => {
    for (const asset of Object.values(ASSETS)) {
      const res = await h.app.request(`${DASH_URL}${asset.path}`);
      assert.equal(res.status, 200, asset.path);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('content-type'), asset.type);
      const body = await res.text();
      assert.ok(asset.path.includes(`.${contentHash(body)}.`), asset.path);
    }
    assert.equal((await h.app.request(`${DASH_URL}/assets/dashboard.0000000000000000.js`)).status, 404);
    const page = await h.app.request(`${DASH_URL}/nowhere`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /<h1>Not found<\/h1>/);
    const api = await h.app.request(`${DASH_URL}/v1/nowhere`, { headers: { accept: 'text/html' } });
    assert.equal(api.headers.get('content-type'), 'application/json', 'the API keeps answering JSON');
  });

  it('bad filters are a one-line 400 page, never a 500', async () => {
    for (const path of ['/runs?state=bogus', '/usage?month=2026-13', '/audit?type=DROP%20TABLE', '/audit?from=yesterday', '/machines?state=nope', '/audit?lease=..%2F..']) {
      const res = await h.open(carol, path);
      assert.equal(res.status, 400, path);
      assert.match(res.text, /id="error-message">[^<]{5,200}</, path);
    }
  });
});

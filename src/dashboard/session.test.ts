import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../coordinator/app.ts';
import { coordinatorConfig } from '../coordinator/config.ts';
import { SESSION_IDLE_MS, SESSION_MAX_MS } from '../coordinator/auth/web-session.ts';
import { SHARED_TOKEN } from '../coordinator/testkit.ts';
import { ManualClock } from '../domain/clock.ts';
import { DASH_URL, dashHarness, type DashHarness } from '../testing/dashboard.ts';
import type { ScriptedBrowser } from '../testing/login-browser.ts';

const cookieOf = (b: ScriptedBrowser): string | undefined => b.jar.get(DASH_URL)?.get('__Host-crabbox_session');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const MINUTE = 60_000;

describe('the browser session', () => {
  let h: DashHarness;
  before(async () => {
    h = await dashHarness({ admins: ['github-1003'] });
  });
  after(() => h.close());

  it('signing in sets __Host-crabbox_session: HttpOnly, Secure, SameSite=Lax, Path=/, no Domain, an hour long; the store keeps only the hash', async () => {
    const b = h.browser();
    const started = await b.post(`${DASH_URL}/login`, {}, { origin: DASH_URL, 'sec-fetch-site': 'same-origin' });
    h.github.signInAs('alice');
    const callback = await b.get(await b.authorizeAtGitHub(started.headers.get('location')!));
    assert.equal(callback.status, 303);
    assert.equal(callback.headers.get('location'), '/');
    const header = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-crabbox_session='))!;
    const attrs = header.split(';').map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes('httponly') && attrs.includes('secure') && attrs.includes('samesite=lax') && attrs.includes('path=/'), header);
    assert.ok(!attrs.some((a) => a.startsWith('domain=')), 'host-only');
    assert.ok(attrs.includes(`max-age=${SESSION_IDLE_MS / 1000}`), header);
    const [id, secret] = cookieOf(b)!.split('.') as [string, string];
    assert.match(id, /^[0-9a-f]{24}$/);
    assert.match(secret, /^[0-9a-f]{64}$/);
    const row = await h.store.getWebSession(id);
    assert.equal(row?.secretHash, sha256(secret));
    assert.ok(!JSON.stringify(row).includes(secret), 'the secret itself is stored nowhere');
    assert.deepEqual([row?.owner, row?.login, row?.role, row?.org], ['github-1001', 'alice', 'user', 'acme']);
    const page = await h.open(b, '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="who-login">alice</);
    assert.ok(!page.text.includes(secret), 'the cookie secret never appears in a page');
  });

  it('a sign-in replaces the session the browser had (a new id and secret; the old one stops working)', async () => {
    const b = await h.signIn('alice');
    const before = cookieOf(b)!;
    await h.signIn('alice', b);
    const now = cookieOf(b)!;
    assert.notEqual(now.split('.')[0], before.split('.')[0]);
    assert.equal(await h.store.getWebSession(before.split('.')[0]!), undefined);
    const stale = h.browser();
    stale.jar.set(DASH_URL, new Map([['__Host-crabbox_session', before]]));
    const page = await h.open(stale, '/');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login');
  });

  it('use slides the idle deadline (once a minute at most); an hour unused ends it; twelve hours end it however busy', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    const own = await dashHarness({ clock });
    try {
      const b = await own.signIn('alice');
      const id = cookieOf(b)!.split('.')[0]!;
      const created = (await own.store.getWebSession(id))!;
      clock.advance(30 * MINUTE);
      const renewed = await own.open(b, '/');
      assert.equal(renewed.status, 200);
      assert.ok(renewed.headers.getSetCookie().some((c) => c.startsWith('__Host-crabbox_session=')), 'the cookie is sent again with the new lifetime');
      assert.equal((await own.store.getWebSession(id))?.expiresAt, created.createdAt + 30 * MINUTE + SESSION_IDLE_MS);
      clock.advance(10_000);
      assert.equal((await own.open(b, '/')).headers.getSetCookie().length, 0, 'not renewed again within a minute');
      // Busy all day: every 50 minutes, until the absolute deadline.
      while (clock.now() + 50 * MINUTE < created.createdAt + SESSION_MAX_MS) {
        clock.advance(50 * MINUTE);
        assert.equal((await own.open(b, '/')).status, 200);
      }
      clock.set(created.createdAt + SESSION_MAX_MS);
      const over = await own.open(b, '/');
      assert.equal(over.status, 303, 'twelve hours after sign-in it is over');
      assert.equal(await own.store.getWebSession(id), undefined, 'and the row is gone');

      const idle = await own.signIn('alice');
      clock.advance(SESSION_IDLE_MS);
      assert.equal((await own.open(idle, '/')).status, 303, 'an hour unused ends it');
      assert.ok((await own.deniedReasons()).includes('session-expired'));
    } finally {
      await own.close();
    }
  });

  it('sign-out really ends the session: the row is deleted and the old cookie, replayed, gets the sign-in page', async () => {
    const b = await h.signIn('alice');
    const cookie = cookieOf(b)!;
    const out = await h.submit(b, '/logout');
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/login?signed_out=1');
    assert.ok(out.headers.getSetCookie().some((c) => /^__Host-crabbox_session=;/.test(c) && /max-age=0/i.test(c)));
    assert.equal(await h.store.getWebSession(cookie.split('.')[0]!), undefined);
    const replay = h.browser();
    replay.jar.set(DASH_URL, new Map([['__Host-crabbox_session', cookie]]));
    assert.equal((await h.open(replay, '/')).status, 303);
    assert.equal((await h.open(replay, '/live/mine')).status, 401);
    const events = await h.store.listEvents({ type: 'auth.logout', limit: 5 });
    assert.equal(events.items[0]?.owner, 'github-1001');
  });

  it('sessions are listed and revocable by their owner only; a revoked one no longer works', async () => {
    const laptop = await h.signIn('bob');
    const phone = await h.signIn('bob');
    const phoneId = cookieOf(phone)!.split('.')[0]!;
    const list = await h.open(laptop, '/sessions');
    assert.match(list.text, new RegExp(`data-session="${phoneId}"`));
    const mallory = await h.signIn('carol');
    const theirs = await h.submit(mallory, `/sessions/${phoneId}/revoke`);
    assert.equal(theirs.status, 404, 'someone else\'s session: as if it did not exist');
    assert.ok(await h.store.getWebSession(phoneId));
    const revoked = await h.submit(laptop, `/sessions/${phoneId}/revoke`);
    assert.equal(revoked.status, 303);
    assert.equal((await h.open(phone, '/')).status, 303);
    assert.equal((await h.open(laptop, '/')).status, 200, 'the session that revoked stays');
  });

  it('the shared operator token and user tokens mean nothing to the dashboard, and the session cookie nothing to the API', async () => {
    const bearer = { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'root' };
    const page = await h.app.request(`${DASH_URL}/`, { headers: bearer });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login');
    assert.equal(page.headers.getSetCookie().length, 0);
    const user = await h.app.request(`${DASH_URL}/machines`, { headers: { authorization: `Bearer ${await h.userToken('root')}` } });
    assert.equal(user.status, 303);
    const drain = await h.app.request(`${DASH_URL}/logout`, { method: 'POST', headers: { ...bearer, origin: DASH_URL, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(drain.status, 401);
    const b = await h.signIn('alice');
    const api = await h.app.request(`${DASH_URL}/v1/whoami`, { headers: { cookie: `__Host-crabbox_session=${cookieOf(b)}` } });
    assert.equal(api.status, 401);
  });

  it('a session ends when its owner\'s role changes (demoted or promoted), rather than keep the role it was made with', async () => {
    const b = await h.signIn('carol');
    assert.match((await h.open(b, '/')).text, /id="who-role">admin</);
    const demoted = createApp({ ...h.deps, config: coordinatorConfig({ ...h.deps.config, auth: { ...h.deps.config.auth, admins: ['root'] } }) });
    const res = await demoted.request(`${DASH_URL}/machines`, { headers: { cookie: `__Host-crabbox_session=${cookieOf(b)}` } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
    assert.ok((await h.deniedReasons()).includes('session-role-changed'));
  });

  it('a forged or malformed cookie is refused (and recorded), without a stack trace', async () => {
    const b = await h.signIn('alice');
    const [id] = cookieOf(b)!.split('.') as [string];
    for (const value of [`${id}.${'0'.repeat(64)}`, 'not-a-session', `${'f'.repeat(24)}.${'a'.repeat(64)}`]) {
      const res = await h.app.request(`${DASH_URL}/`, { headers: { cookie: `__Host-crabbox_session=${value}` } });
      assert.equal(res.status, 303, value);
    }
    const reasons = await h.deniedReasons();
    assert.ok(['session-forged', 'session-malformed', 'session-unknown'].every((r) => reasons.includes(r)), reasons.join());
    assert.ok(await h.store.getWebSession(id), 'a forged secret does not end the real session');
  });
});

describe('the browser session behind Cloudflare Access', () => {
  let jwks: Server;
  let key: CryptoKey;
  let h: DashHarness;
  const TEAM = 'acme.cloudflareaccess.com';
  const AUD = 'dashboard-aud-0123';
  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    h = await dashHarness({ config: { access: { teamDomain: TEAM, audience: AUD, jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs` } } });
  });
  after(async () => {
    await h.close();
    jwks.close();
  });
  const assertion = (email: string) => {
    const now = Math.floor(h.clock.now() / 1000);
    return new SignJWT({ email }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(`https://${TEAM}`).setAudience(AUD).setIssuedAt(now - 10).setExpirationTime(now + 3600).sign(key);
  };

  it('shows the Access identity, and refuses the session under another Access identity (ending it)', async () => {
    const alice = await assertion('alice@acme.example');
    const b = h.browser();
    const headers = { 'cf-access-jwt-assertion': alice };
    Object.assign(b.headers, headers);
    const signed = await h.signIn('alice', b);
    const page = await h.open(signed, '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="who-access"[^>]*>Access: alice@acme\.example</);
    const id = b.jar.get(DASH_URL)!.get('__Host-crabbox_session')!.split('.')[0]!;
    assert.equal((await h.store.getWebSession(id))?.accessIdentity, 'alice@acme.example');
    const none = await h.app.request(`${DASH_URL}/`, { headers: { cookie: `__Host-crabbox_session=${b.jar.get(DASH_URL)!.get('__Host-crabbox_session')}` } });
    assert.equal(none.status, 401, 'no Access assertion: the gate refuses before the session is read');
    b.headers['cf-access-jwt-assertion'] = await assertion('mallory@acme.example');
    const other = await h.open(b, '/');
    assert.equal(other.status, 303);
    assert.equal(await h.store.getWebSession(id), undefined);
    assert.ok((await h.deniedReasons()).includes('session-access-mismatch'));
  });
});

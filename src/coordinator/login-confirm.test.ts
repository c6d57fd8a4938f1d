import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startLoopback } from '../cli/login/loopback.ts';
import { parseConfirmPage, type Page, type ScriptedBrowser } from '../testing/login-browser.ts';
import { loginHarness, PUBLIC_URL, type LoginHarness } from './login/testkit.ts';

/**
 * Issue 22 finding 6: a local account starts `crabbox login` with its own loopback port and sends the link to a
 * victim on the same machine. GitHub skips consent for an app the victim already approved, so before the fix one
 * click delivered the victim's one-time code to the attacker's port, and the attacker's poll got the victim's token.
 * Now the link opens a confirmation page (when, from where, the attacker's phrase), only a same-origin POST from that
 * page confirms, and only the browser that confirmed may finish the login.
 */
describe('login confirmation against a stolen loopback login', () => {
  let h: LoginHarness | undefined;
  let closeListener: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeListener?.();
    await h?.close();
    h = undefined;
    closeListener = undefined;
  });

  /** The attacker's CLI on the shared machine: a real loopback listener and a started login. */
  async function attackerStarts(t: LoginHarness) {
    const listener = await startLoopback();
    closeListener = () => listener.close();
    const started = await t.start({ port: listener.port, source: '127.0.0.1' });
    listener.expect(started.loginId);
    let stolen: string | undefined;
    void listener.arrived.then((code) => (stolen = code));
    return { ...started, listener, stolen: () => stolen };
  }

  /**
   * A victim's browser clicking a link: follows every redirect like a real browser, passes GitHub's authorize page
   * at once (consent already given), and stops at a confirmation page, whose phrase their terminal never printed.
   */
  async function victimClicks(browser: ScriptedBrowser, t: LoginHarness, url: string): Promise<Page> {
    t.github.signInAs('alice');
    let page = await browser.get(url);
    for (let hops = 0; hops < 10; hops++) {
      const location = page.headers.get('location');
      if ((page.status === 302 || page.status === 303) && location) {
        page = await browser.get(location);
        continue;
      }
      if (page.status === 200 && page.url.startsWith(`${t.github.url}/login/oauth/authorize`)) {
        page = await browser.get(await browser.authorizeAtGitHub(page.url));
        continue;
      }
      return page;
    }
    throw new Error('too many redirects');
  }

  /** The attacker polls as its CLI would, with whatever code reached its listener. */
  async function attackerPolls(t: LoginHarness, a: Awaited<ReturnType<typeof attackerStarts>>) {
    await new Promise((resolve) => setImmediate(resolve));
    return t.poll(a.loginId, a.secret, a.stolen());
  }

  const exchangedCodes = (t: LoginHarness) => t.github.requests.filter((r) => r === 'POST /login/oauth/access_token').length;

  it('an attacker-started link clicked by a victim shows the attacker\'s phrase and delivers nothing without a confirmation', async () => {
    h = await loginHarness();
    const attacker = await attackerStarts(h);
    const victim = h.browser();
    const landed = await victimClicks(victim, h, attacker.authorizeUrl);
    const form = parseConfirmPage(landed.text);
    assert.ok(form, `the link stopped at a confirmation page, not ${landed.status} ${landed.url}`);
    assert.equal(form.phrase, attacker.phrase, 'the page shows the phrase the attacker\'s terminal printed');
    assert.equal(form.from, '127.0.0.1');
    assert.match(landed.text, /If you did not start this login, or the phrase differs, close this page/);
    // The victim's own terminal (if any) printed another phrase; they close the page. Nothing reached the attacker.
    assert.equal(attacker.stolen(), undefined);
    assert.equal(exchangedCodes(h), 0, 'GitHub was never asked for a token');
    const poll = await attackerPolls(h, attacker);
    assert.deepEqual(poll.json, { status: 'pending' }, 'no token for the attacker');
  });

  it('skipping the page (a GitHub link built from the attacker\'s state) is stopped at the callback, and the login ends denied', async () => {
    h = await loginHarness();
    const attacker = await attackerStarts(h);
    const state = new URL(attacker.authorizeUrl).searchParams.get('state')!;
    const github = new URL(`${h.github.url}/login/oauth/authorize`);
    for (const [k, v] of Object.entries({ client_id: h.github.clientId, redirect_uri: `${PUBLIC_URL}/v1/login/callback`, scope: 'read:org user:email', state })) github.searchParams.set(k, v);
    const victim = h.browser();
    const landed = await victimClicks(victim, h, github.toString());
    assert.equal(landed.status, 403);
    assert.match(landed.text, /Login not confirmed/);
    assert.equal(landed.headers.get('location'), null, 'never sent on to the attacker\'s port');
    assert.equal(attacker.stolen(), undefined);
    assert.equal(exchangedCodes(h), 0, 'the victim\'s GitHub code was never exchanged');
    const poll = await attackerPolls(h, attacker);
    assert.equal(poll.status, 403);
    assert.match(poll.json.message, /login denied: the login was not confirmed in the browser that finished it/);
    assert.ok((await h.deniedReasons()).includes('login-not-confirmed'));
  });

  it('confirming in the attacker\'s own browser and sending the GitHub link on gets nothing either', async () => {
    h = await loginHarness();
    const attacker = await attackerStarts(h);
    const attackerBrowser = h.browser();
    const confirmed = await attackerBrowser.confirm((await attackerBrowser.openLoginLink(attacker.authorizeUrl)).form);
    assert.equal(confirmed.status, 303);
    const landed = await victimClicks(h.browser(), h, confirmed.headers.get('location')!);
    assert.equal(landed.status, 403);
    assert.equal(attacker.stolen(), undefined);
    assert.equal((await attackerPolls(h, attacker)).status, 403);
    // And the link itself, opened by the victim after the attacker confirmed, is refused rather than sent to GitHub.
    const again = await h.browser().get(attacker.authorizeUrl);
    assert.equal(again.status, 409);
  });

  it('a confirmation forged from another site is refused: no page cookie, a wrong token, or Sec-Fetch-Site cross-site', async () => {
    h = await loginHarness();
    const attacker = await attackerStarts(h);
    const state = new URL(attacker.authorizeUrl).searchParams.get('state')!;
    // The attacker fetched the page itself, so it knows a valid-looking token; the victim's browser has no cookie for it.
    const { form } = await h.browser().openLoginLink(attacker.authorizeUrl);
    const victim = h.browser();
    const noCookie = await victim.post(`${PUBLIC_URL}/v1/login/authorize`, { state, csrf: form.fields.csrf! });
    assert.equal(noCookie.status, 403);
    assert.match(noCookie.text, /Confirmation refused/);
    // The victim has opened the page (so holds a cookie), and an attacker's page auto-posts with another token...
    await victim.openLoginLink(attacker.authorizeUrl);
    assert.equal((await victim.post(`${PUBLIC_URL}/v1/login/authorize`, { state, csrf: form.fields.csrf! })).status, 403);
    // ...or a real browser marks the cross-site post as such, whatever the token.
    const crossSite = h.browser({ 'sec-fetch-site': 'cross-site' });
    const page = await crossSite.openLoginLink(attacker.authorizeUrl);
    assert.equal((await crossSite.confirm(page.form)).status, 403);
    assert.equal((await h.store.getLogin(attacker.loginId))?.confirmedAt, undefined, 'nothing confirmed');
    assert.ok((await h.deniedReasons()).includes('login-confirm-forged'));
    // The same page posted same-origin works.
    const sameOrigin = h.browser({ 'sec-fetch-site': 'same-origin' });
    assert.equal((await sameOrigin.confirm((await sameOrigin.openLoginLink(attacker.authorizeUrl)).form)).status, 303);
  });

  it('the browser that confirmed may come back to the link; its callback works and delivers the token to its own CLI', async () => {
    h = await loginHarness();
    const started = await h.start();
    const browser = h.browser();
    const first = await browser.confirm((await browser.openLoginLink(started.authorizeUrl)).form);
    assert.equal(first.status, 303);
    const back = await browser.get(started.authorizeUrl);
    assert.equal(back.status, 302, 'the confirming browser goes straight to GitHub again');
    assert.equal(back.headers.get('location'), first.headers.get('location'));
    h.github.signInAs('alice');
    const callback = await browser.get(await browser.authorizeAtGitHub(back.headers.get('location')!));
    assert.equal(callback.status, 200);
    assert.equal((await h.poll(started.loginId, started.secret, h.codeOf(callback))).json.login, 'alice');
  });

  it('cookies are HttpOnly, scoped to /v1/login and short-lived; Secure on an https coordinator', async () => {
    h = await loginHarness();
    const started = await h.start();
    const res = await h.app.request(started.authorizeUrl);
    const [cookie] = res.headers.getSetCookie();
    assert.match(cookie!, /^cbx_csrf_[0-9a-f]{24}=[0-9a-f]{48}; Max-Age=600; Path=\/v1\/login; HttpOnly; SameSite=Strict$/);
    h.deps.config.login.publicUrl = 'https://coordinator.test';
    const secure = await h.app.request(started.authorizeUrl.replace('http://', 'https://'));
    assert.match(secure.headers.getSetCookie()[0]!, /; Secure/);
  });
});

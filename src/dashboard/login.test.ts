import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness } from '../coordinator/testkit.ts';
import { DASH_URL, dashHarness, type DashHarness } from '../testing/dashboard.ts';

/** Signing in to the dashboard: the one GitHub login, started and finished by the same browser, ending in a session. */
describe('dashboard sign-in', () => {
  let h: DashHarness;
  before(async () => {
    h = await dashHarness();
  });
  after(() => h.close());

  const start = async (b = h.browser()) => {
    const res = await b.post(`${DASH_URL}/login`, {}, { origin: DASH_URL, 'sec-fetch-site': 'same-origin' });
    const loginCookie = [...(b.jar.get(DASH_URL)?.keys() ?? [])].find((k) => k.startsWith('cbx_login_'));
    return { res, browser: b, loginId: loginCookie ? `login_${loginCookie.slice('cbx_login_'.length)}` : undefined };
  };

  it('the sign-in page offers GitHub; its POST sends the browser to GitHub with a login of kind web bound to this browser', async () => {
    const page = await h.open(h.browser(), '/login');
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="\/login"><button type="submit" class="btn btn-primary" id="sign-in">Sign in with GitHub<\/button>/);
    assert.match(page.headers.get('content-security-policy')!, new RegExp(`form-action 'self' ${h.github.url.replace(/[.:/]/g, '\\$&')}`), 'the form may lead on to GitHub');
    const { res, loginId } = await start();
    assert.equal(res.status, 303);
    const to = new URL(res.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${h.github.url}/login/oauth/authorize`);
    assert.equal(to.searchParams.get('redirect_uri'), `${DASH_URL}/v1/login/callback`, 'the one callback the OAuth app has');
    const login = await h.store.getLogin(loginId!);
    assert.deepEqual([login?.kind, login?.status, login?.confirmedAt !== undefined, login?.phrase], ['web', 'pending', true, undefined]);
  });

  it('a sign-in started from another site is refused before anything is stored', async () => {
    const b = h.browser();
    const res = await b.post(`${DASH_URL}/login`, {}, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(res.status, 403);
    assert.ok(![...(b.jar.get(DASH_URL)?.keys() ?? [])].some((k) => k.startsWith('cbx_login_')));
  });

  it('GitHub\'s callback reaching another browser (a link sent to a victim) is refused: no session for anyone', async () => {
    const { res } = await start();
    h.github.signInAs('mallory');
    const attacker = h.browser();
    const callbackUrl = await attacker.authorizeAtGitHub(res.headers.get('location')!);
    const victim = h.browser();
    const landed = await victim.get(callbackUrl);
    assert.equal(landed.status, 403);
    assert.match(landed.text, /not confirmed in this browser/);
    assert.equal(victim.jar.get(DASH_URL)?.get('__Host-crabbox_session'), undefined);
  });

  it('nobody can collect a token for a dashboard sign-in, and the CLI\'s link page does not know it', async () => {
    const { res, loginId } = await start();
    const state = new URL(res.headers.get('location')!).searchParams.get('state')!;
    const poll = await h.request('POST', '/v1/login/poll', { body: { loginId, secret: 'x'.repeat(43) } });
    assert.equal(poll.status, 404);
    const link = await h.app.request(`${DASH_URL}/v1/login/authorize?state=${state}`);
    assert.equal(link.status, 404);
  });

  it('someone outside the allowed organizations is denied on the callback and gets no session', async () => {
    const b = h.browser();
    await assert.rejects(h.signIn('mallory', b), /callback answered 403/);
    assert.equal(b.jar.get(DASH_URL)?.get('__Host-crabbox_session'), undefined);
    assert.ok((await h.deniedReasons()).includes('not-member'));
  });

  it('a signed-in browser asking for the sign-in page goes to its boxes; the login is used up and audited', async () => {
    const b = await h.signIn('alice');
    const again = await h.open(b, '/login');
    assert.equal(again.status, 303);
    assert.equal(again.headers.get('location'), '/');
    const logins = await h.store.listEvents({ type: 'auth.login', limit: 1 });
    assert.deepEqual([logins.items[0]?.owner, (logins.items[0]?.data as { via?: string }).via], ['github-1001', 'github-web']);
  });

  it('without GitHub login, or at a plain-http public URL on another machine, the page says why nobody can sign in', async () => {
    const bare = await harness();
    try {
      const page = await bare.app.request('http://coordinator.test/login');
      assert.equal(page.status, 503);
      assert.match(await page.text(), /id="login-problem">This coordinator has no GitHub login configured/);
      const post = await bare.app.request('http://coordinator.test/login', { method: 'POST', headers: { origin: 'http://coordinator.test' } });
      assert.equal(post.status, 503);
    } finally {
      await bare.close();
    }
    const plain = await dashHarness({ publicUrl: 'http://coordinator.example.net' });
    try {
      const page = await plain.app.request('http://coordinator.example.net/login');
      assert.equal(page.status, 503);
      assert.match(await page.text(), /The dashboard needs https/);
    } finally {
      await plain.close();
    }
  });
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { loginHarness, PUBLIC_URL, type LoginHarness } from './login/testkit.ts';
import { onTarget, PUBLIC_KEY, SHARED_TOKEN } from './testkit.ts';

describe(onTarget('GitHub browser login'), () => {
  let h: LoginHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Runs a whole login for `login` and returns the poll answer. */
  async function loginAs(t: LoginHarness, login: string, options: { port?: number } = {}) {
    const started = await t.start(options);
    assert.equal(started.status, 201);
    const callback = await (await t.approveAtGitHub(started.authorizeUrl, login)).open();
    const code = callback.status === 200 || callback.status === 302 ? t.codeOf(callback) : undefined;
    return { started, callback, code, poll: await t.poll(started.loginId, started.secret, code) };
  }

  it('start returns a login id, a phrase and a link to a confirmation page; confirming sends the browser to GitHub with state and our callback', async () => {
    h = await loginHarness();
    const started = await h.start({ port: 45678 });
    assert.match(started.loginId, /^login_[0-9a-f]{24}$/);
    assert.match(started.phrase, /^[a-z]+-[a-z]+-[a-z]+$/);
    assert.equal(started.json.pollIntervalSeconds, 2);
    assert.equal(started.json.expiresAt, new Date(h.clock.now() + 600_000).toISOString());
    const authorize = new URL(started.authorizeUrl);
    assert.equal(authorize.origin + authorize.pathname, 'http://coordinator.test/v1/login/authorize');
    const state = authorize.searchParams.get('state')!;
    h.clock.advance(150_000);
    const browser = h.browser();
    const { page, form } = await browser.openLoginLink(started.authorizeUrl);
    assert.equal(page.headers.get('location'), null, 'no redirect before the person confirms');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(form.phrase, started.phrase);
    assert.equal(form.from, '192.0.2.1');
    assert.equal(form.started, 'A crabbox login was started at 2026-01-15 12:00:00 UTC (3 minutes ago) from 192.0.2.1.');
    assert.equal(form.action, 'http://coordinator.test/v1/login/authorize');
    assert.equal(form.fields.state, state);
    const redirect = await browser.confirm(form);
    assert.equal(redirect.status, 303);
    const github = new URL(redirect.headers.get('location')!);
    assert.equal(`${github.origin}${github.pathname}`, `${h.github.url}/login/oauth/authorize`);
    assert.equal(github.searchParams.get('client_id'), h.github.clientId);
    assert.equal(github.searchParams.get('redirect_uri'), 'http://coordinator.test/v1/login/callback');
    assert.equal(github.searchParams.get('state'), state);
    assert.equal(github.searchParams.get('scope'), 'read:org user:email');
  });

  it('an active org member is redirected to the CLI loopback and the token is delivered exactly once', async () => {
    h = await loginHarness();
    const started = await h.start({ port: 45678 });
    const callback = await (await h.approveAtGitHub(started.authorizeUrl, 'alice')).open();
    assert.equal(callback.status, 302);
    const code = h.codeOf(callback);
    assert.match(code, /^[B-Z]{4}-[B-Z]{4}$/);
    assert.equal(callback.headers.get('location'), `http://127.0.0.1:45678/callback?login=${started.loginId}&code=${code}`);
    // Without the code the browser handed over, the secret alone gets nothing.
    assert.deepEqual((await h.poll(started.loginId, started.secret)).json, { status: 'code-required' });
    const poll = await h.poll(started.loginId, started.secret, code.toLowerCase().replace('-', ' '));
    assert.equal(poll.status, 200);
    assert.equal(poll.json.status, 'approved');
    assert.match(poll.json.token, /^cbxu_/);
    assert.deepEqual([poll.json.owner, poll.json.org, poll.json.login], ['github-1001', 'acme', 'alice']);
    assert.equal(poll.json.expiresAt, new Date(h.clock.now() + 30 * 86_400_000).toISOString());
    const who = await h.request('GET', '/v1/whoami', { token: poll.json.token });
    assert.deepEqual(who.json, { owner: 'github-1001', org: 'acme', login: 'alice', role: 'user', via: 'user-token', expiresAt: poll.json.expiresAt });
    const again = await h.poll(started.loginId, started.secret);
    assert.equal(again.status, 409);
    assert.match(again.json.message, /already delivered/);
    const logins = await h.store.listEvents({ type: 'auth.login', limit: 10 });
    assert.equal(logins.items.length, 1);
    assert.doesNotMatch(JSON.stringify(logins.items), /cbxu_|gho_/);
    // The GitHub access token was used during the callback only; nothing of it is stored.
    assert.equal(JSON.stringify(await h.store.getLogin(started.loginId)).includes('gho_'), false);
  });

  it('without a port the callback shows a page and polling picks the token up; pending before that', async () => {
    h = await loginHarness();
    const started = await h.start();
    const pending = await h.poll(started.loginId, started.secret);
    assert.deepEqual([pending.status, pending.json], [200, { status: 'pending' }]);
    const callback = await (await h.approveAtGitHub(started.authorizeUrl, 'alice')).open();
    assert.equal(callback.status, 200);
    assert.match(callback.json.raw, /Signed in to GitHub as alice\. Type this code into the terminal/);
    assert.equal(callback.headers.get('referrer-policy'), 'no-referrer');
    assert.deepEqual((await h.poll(started.loginId, started.secret)).json, { status: 'code-required' });
    assert.equal((await h.poll(started.loginId, started.secret, h.codeOf(callback))).json.login, 'alice');
  });

  const denials: [string, string, number, RegExp, string, string[]?][] = [
    ['not a member', 'mallory', 403, /not an active member of an allowed organization \(acme\)/, 'not-member'],
    ['membership pending', 'newbie', 403, /invitation to acme is still pending/, 'membership-pending'],
    ['no verified primary email', 'noemail', 403, /no verified primary email/, 'no-verified-email'],
    ['wrong team', 'bob', 403, /not an active member of an allowed team \(acme\/platform\)/, 'wrong-team', ['acme/platform']],
  ];
  for (const [name, login, status, message, reason, teams] of denials) {
    it(`denies: ${name} (page, CLI message, auth.denied)`, async () => {
      h = await loginHarness({ teams });
      const { callback, poll } = await loginAs(h, login, { port: 45678 });
      assert.equal(callback.status, status);
      assert.match(callback.json.raw, /Login denied/);
      assert.match(callback.json.raw, message);
      assert.equal(callback.headers.get('location'), null);
      assert.equal(poll.status, 403);
      assert.equal(poll.json.error, 'forbidden');
      assert.match(poll.json.message, message);
      assert.ok((await h.deniedReasons()).includes(reason));
    });
  }

  it('an allowed team member gets in when teams are configured', async () => {
    h = await loginHarness({ teams: ['acme/platform'] });
    const { poll } = await loginAs(h, 'alice');
    assert.equal(poll.json.login, 'alice');
    assert.ok(h.github.requests.includes('GET /api/orgs/acme/teams/platform/memberships/alice'));
  });

  it('a wrong code ends the login: one attempt, 403, auth.denied, and the right code no longer works', async () => {
    h = await loginHarness();
    const started = await h.start();
    const callback = await (await h.approveAtGitHub(started.authorizeUrl, 'alice')).open();
    const wrong = await h.poll(started.loginId, started.secret, 'BBBB-BBBB');
    assert.equal(wrong.status, 403);
    assert.match(wrong.json.message, /code did not match/);
    assert.ok((await h.deniedReasons()).includes('wrong-login-code'));
    const right = await h.poll(started.loginId, started.secret, h.codeOf(callback));
    assert.equal(right.status, 403);
  });

  it('a GitHub 5xx is a 502 page and a 503 poll (a temporary failure, not a denial)', async () => {
    h = await loginHarness();
    h.github.fail('/api/user/memberships', 500);
    const { callback, poll } = await loginAs(h, 'alice');
    assert.equal(callback.status, 502);
    assert.match(callback.json.raw, /GitHub \/user\/memberships\/orgs\/acme failed: 500 Server Error/);
    assert.equal(poll.status, 503);
    assert.equal(poll.json.error, 'unavailable');
    assert.match(poll.json.message, /^login failed: GitHub/);
    assert.match(poll.json.hint, /temporary GitHub problem; run `crabbox login` again/);
    assert.ok((await h.deniedReasons()).includes('github-error'));
  });

  it('GitHub refusing the code is a denial at the poll (403), not a temporary failure', async () => {
    h = await loginHarness();
    const started = await h.start();
    const approval = await h.approveAtGitHub(started.authorizeUrl, 'alice');
    await approval.browser.get(`${PUBLIC_URL}${approval.path.replace(/code=[0-9a-f]+/, 'code=0000000000')}`);
    const poll = await h.poll(started.loginId, started.secret);
    assert.equal(poll.status, 403);
    assert.match(poll.json.message, /^login denied: GitHub refused the login code: bad_verification_code/);
  });

  it('a person cancelling on GitHub (error=access_denied) is a plain denial', async () => {
    h = await loginHarness();
    const started = await h.start();
    const state = new URL(started.authorizeUrl).searchParams.get('state');
    const browser = h.browser();
    await browser.confirm((await browser.openLoginLink(started.authorizeUrl)).form);
    const res = await browser.get(`${PUBLIC_URL}/v1/login/callback?error=access_denied&error_description=The+user+has+denied&state=${state}`);
    assert.equal(res.status, 403);
    assert.match(res.json.raw, /authorization was cancelled/);
    assert.match((await h.poll(started.loginId, started.secret)).json.message, /cancelled/);
  });

  it('denies when GitHub refuses the code (bad_verification_code)', async () => {
    h = await loginHarness();
    const started = await h.start();
    const approval = await h.approveAtGitHub(started.authorizeUrl, 'alice');
    const forged = approval.path.replace(/code=[0-9a-f]+/, 'code=0000000000');
    const res = await approval.browser.get(`${PUBLIC_URL}${forged}`);
    assert.equal(res.status, 502);
    assert.match(res.json.raw, /bad_verification_code/);
  });

  it('an expired login is refused at the callback and at the poll', async () => {
    h = await loginHarness();
    const late = await h.start();
    const approval = await h.approveAtGitHub(late.authorizeUrl, 'alice');
    const unfinished = await h.start();
    h.clock.advance(10 * 60_000 + 1);
    const res = await approval.open();
    assert.equal(res.status, 410);
    assert.match(res.json.raw, /expired/);
    assert.ok((await h.deniedReasons()).includes('login-expired'));
    const poll = await h.poll(unfinished.loginId, unfinished.secret);
    assert.equal(poll.status, 410);
    assert.equal(poll.json.error, 'login_expired');
    assert.equal((await h.request('GET', new URL(unfinished.authorizeUrl).pathname + new URL(unfinished.authorizeUrl).search)).status, 410);
  });

  it('a replayed callback is refused and never overwrites the success', async () => {
    h = await loginHarness();
    const started = await h.start();
    const approval = await h.approveAtGitHub(started.authorizeUrl, 'alice');
    const callbackPath = approval.path;
    const first = await approval.open();
    assert.equal(first.status, 200);
    // A second callback for the same login (same state) from the same browser, even with a fresh code for another user.
    const replay = await approval.open();
    assert.equal(replay.status, 409);
    assert.match(replay.json.raw, /already used/);
    h.github.signInAs('bob');
    const state = new URL(callbackPath, 'http://x').searchParams.get('state')!;
    const fresh = await fetch(`${h.github.url}/login/oauth/authorize`, { method: 'POST', body: new URLSearchParams({ redirect_uri: 'http://coordinator.test/v1/login/callback', state }), redirect: 'manual' });
    const other = new URL(fresh.headers.get('location')!);
    assert.notEqual(other.searchParams.get('code'), new URL(callbackPath, 'http://x').searchParams.get('code'));
    assert.equal((await approval.browser.get(`${PUBLIC_URL}${other.pathname}${other.search}`)).status, 409);
    assert.ok((await h.deniedReasons()).includes('replayed-callback'));
    const poll = await h.poll(started.loginId, started.secret, h.codeOf(first));
    assert.equal(poll.json.login, 'alice');
  });

  it('a wrong poll secret is refused and does not consume the token', async () => {
    h = await loginHarness();
    const started = await h.start();
    const callback = await (await h.approveAtGitHub(started.authorizeUrl, 'alice')).open();
    const wrong = await h.poll(started.loginId, 'x'.repeat(43));
    assert.equal(wrong.status, 403);
    assert.match(wrong.json.message, /started by someone else/);
    assert.ok((await h.deniedReasons()).includes('wrong-poll-secret'));
    assert.equal((await h.poll(started.loginId, started.secret, h.codeOf(callback))).json.login, 'alice');
  });

  it('unknown state, bad start bodies and a coordinator without GitHub login answer clearly', async () => {
    h = await loginHarness();
    const unknown = await h.request('GET', `/v1/login/callback?code=abc&state=${'0'.repeat(48)}`);
    assert.equal(unknown.status, 400);
    assert.ok((await h.deniedReasons()).includes('unknown-login'));
    const bad = await h.request('POST', '/v1/login/start', { body: { secretHash: 'nothex', port: 80 } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /secretHash/);
    assert.equal((await h.request('POST', '/v1/login/poll', { body: { loginId: 'login_000000000000000000000000', secret: 'y'.repeat(43) } })).status, 404);
    const { harness } = await import('./testkit.ts');
    await using plain = await harness();
    const res = await plain.request('POST', '/v1/login/start', { body: { secretHash: 'a'.repeat(64) } });
    assert.equal(res.status, 404);
    assert.match(res.json.message, /no GitHub login configured/);
  });

  it('pending logins are bounded per source address and in total', async () => {
    h = await loginHarness({ maxPendingPerSource: 2, maxPending: 3 });
    assert.equal((await h.start({ source: '198.51.100.7' })).status, 201);
    assert.equal((await h.start({ source: '198.51.100.7' })).status, 201);
    const third = await h.start({ source: '198.51.100.7' });
    assert.equal(third.status, 429);
    assert.match(third.json.message, /from your address/);
    assert.equal((await h.start({ source: '198.51.100.8' })).status, 201);
    const over = await h.start({ source: '198.51.100.9' });
    assert.equal(over.status, 429);
    assert.match(over.json.message, /on this coordinator/);
  });

  it('the token lifetime is configurable', async () => {
    h = await loginHarness({ ttlSeconds: 3600 });
    const { poll } = await loginAs(h, 'alice');
    assert.equal(poll.json.expiresAt, new Date(h.clock.now() + 3600_000).toISOString());
  });
});

describe(onTarget('user tokens from a login'), () => {
  let h: LoginHarness;
  afterEach(() => h.close());

  const tokenFor = (login: string) => h.tokenFor(login);

  it('tampered, expired and shared-secret-signed tokens are refused with 401 and auth.denied', async () => {
    h = await loginHarness();
    const token = await tokenFor('alice');
    const [signed, signature] = token.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(signed.slice(5), 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, owner: 'github-1002', login: 'root' })).toString('base64url');
    const tampered = await h.request('GET', '/v1/whoami', { token: `cbxu_${forgedPayload}.${signature}` });
    assert.equal(tampered.status, 401);
    assert.match(tampered.json.message, /not valid for this coordinator/);
    // Signed correctly, but with the shared token as the key.
    const withShared = `cbxu_${forgedPayload}`;
    const sharedSig = createHmac('sha256', SHARED_TOKEN).update(withShared).digest('base64url');
    assert.equal((await h.request('GET', '/v1/whoami', { token: `${withShared}.${sharedSig}` })).status, 401);
    h.clock.advance(30 * 86_400_000);
    const expired = await h.request('GET', '/v1/whoami', { token });
    assert.equal(expired.status, 401);
    assert.match(expired.json.message, /expired/);
    assert.match(expired.json.hint, /crabbox login/);
    const reasons = await h.deniedReasons();
    assert.equal(reasons.filter((r) => r === 'bad-signature').length, 2);
    assert.ok(reasons.includes('expired'));
  });

  it('owner and org headers never change a user token identity, and a login is admin only by allowlist', async () => {
    h = await loginHarness();
    const token = await tokenFor('alice');
    const who = await h.request('GET', '/v1/whoami', { token, headers: { 'x-crabbox-owner': 'root', 'x-crabbox-org': 'other' } });
    assert.deepEqual([who.json.owner, who.json.org, who.json.role], ['github-1001', 'acme', 'user']);
    assert.equal((await h.request('GET', '/v1/admin/leases', { token })).status, 403);
  });

  it('admin comes only from the allowlist, and a GitHub login matches by its immutable github-<id> only', async () => {
    h = await loginHarness({ admins: ['ALICE', 'github-1002'] });
    const alice = await tokenFor('alice');
    const bob = await tokenFor('bob');
    assert.equal((await h.request('GET', '/v1/whoami', { token: alice })).json.role, 'user', 'a login name in the allowlist grants a GitHub login nothing');
    assert.equal((await h.request('GET', '/v1/whoami', { token: bob })).json.role, 'admin');
    assert.equal((await h.request('GET', '/v1/admin/leases', { token: bob })).status, 200);
  });

  it('a renamed login reclaimed by someone else does not inherit the admin role', async () => {
    h = await loginHarness({ admins: ['github-1001', 'alice'] });
    assert.equal((await h.request('GET', '/v1/whoami', { token: await tokenFor('alice') })).json.role, 'admin');
    // alice renames her account; someone else registers "alice" (a new id) and is a member of the org.
    h.github.users.delete('alice');
    h.github.users.set('alice-renamed', { id: 1001, login: 'alice-renamed', orgs: { acme: 'active' } });
    h.github.users.set('alice', { id: 6666, login: 'alice', orgs: { acme: 'active' } });
    const squatter = await h.request('GET', '/v1/whoami', { token: await tokenFor('alice') });
    assert.deepEqual([squatter.json.owner, squatter.json.login, squatter.json.role], ['github-6666', 'alice', 'user']);
    assert.equal((await h.request('GET', '/v1/admin/leases', { token: await tokenFor('alice') })).status, 403);
    assert.equal((await h.request('GET', '/v1/whoami', { token: await tokenFor('alice-renamed') })).json.role, 'admin');
  });

  it('the shared token cannot act as a github-<id> owner (403), so it never reaches a GitHub user\'s leases', async () => {
    h = await loginHarness();
    const alice = await tokenFor('alice');
    const lease = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json.lease;
    for (const owner of ['github-1001', 'GitHub-1001']) {
      const as = await h.request('GET', `/v1/leases/${lease.id}`, { token: SHARED_TOKEN, headers: { 'x-crabbox-owner': owner } });
      assert.equal(as.status, 403, owner);
      assert.equal(as.json.error, 'forbidden');
      assert.match(as.json.message, /X-Crabbox-Owner .* is reserved: github-<id> owners belong to GitHub logins/);
      assert.equal((await h.request('POST', `/v1/leases/${lease.id}/release`, { token: SHARED_TOKEN, headers: { 'x-crabbox-owner': owner } })).status, 403);
    }
    assert.equal((await h.request('GET', `/v1/leases/${lease.id}`, { token: alice })).json.lease.state, 'active');
    assert.ok((await h.deniedReasons()).includes('reserved-owner'));
    // Other owner names, including ones that merely start with github-, still work for automation.
    assert.equal((await h.request('GET', '/v1/whoami', { token: SHARED_TOKEN, headers: { 'x-crabbox-owner': 'github-actions' } })).json.owner, 'github-actions');
  });

  it('a user token sees and touches only its owner\'s leases and runs', async () => {
    h = await loginHarness();
    const alice = await tokenFor('alice');
    const bob = await tokenFor('bob');
    const lease = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json.lease;
    assert.equal(lease.owner, 'github-1001');
    const run = (await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: lease.id, command: 'npm test' } })).json.run;
    assert.ok(run?.id, 'run created');
    assert.equal((await h.request('GET', `/v1/leases/${lease.id}`, { token: bob })).status, 404);
    assert.equal((await h.request('GET', `/v1/leases/${lease.slug}`, { token: bob })).status, 404);
    assert.equal((await h.request('POST', `/v1/leases/${lease.id}/release`, { token: bob })).status, 404);
    assert.equal((await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: bob })).status, 404);
    assert.equal((await h.request('GET', '/v1/leases', { token: bob })).json.leases.length, 0);
    assert.equal((await h.request('GET', `/v1/runs/${run.id}`, { token: bob })).status, 404);
    assert.equal((await h.request('GET', '/v1/runs', { token: bob })).json.runs.length, 0);
    assert.equal((await h.request('GET', '/v1/runs', { token: alice })).json.runs.length, 1);
    assert.equal((await h.request('GET', `/v1/leases/${lease.id}`, { token: alice })).json.lease.id, lease.id);
    // Headers cannot borrow alice's identity either.
    assert.equal((await h.request('GET', `/v1/leases/${lease.id}`, { token: bob, headers: { 'x-crabbox-owner': 'github-1001' } })).status, 404);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addUser, startFakeGitHub, type FakeGitHub } from '../../testing/fake-github.ts';
import { authorizeUrl, GitHubClient, GitHubError } from './github.ts';

describe('GitHub client against the fake GitHub', () => {
  let gh: FakeGitHub;
  let client: GitHubClient;
  const redirectUri = 'http://coordinator.test/v1/login/callback';
  before(async () => {
    gh = await startFakeGitHub();
    addUser(gh, { id: 7, login: 'Octo-Cat', orgs: { acme: 'pending' }, teams: { 'acme/core': 'active' }, emails: [{ email: 'old@example.com', primary: false, verified: true, visibility: null }, { email: 'octo@example.com', primary: true, verified: true, visibility: 'private' }] });
    client = new GitHubClient({ endpoints: { webUrl: gh.url, apiUrl: `${gh.url}/api` } });
  });
  after(() => gh.close());

  /** Gets a real code by walking the fake's authorize form. */
  async function code(login: string): Promise<string> {
    gh.signInAs(login);
    const res = await fetch(`${gh.url}/login/oauth/authorize`, { method: 'POST', body: new URLSearchParams({ redirect_uri: redirectUri, state: 's' }), redirect: 'manual' });
    return new URL(res.headers.get('location')!).searchParams.get('code')!;
  }

  it('builds the authorize URL with client id, callback, scopes and state', () => {
    const url = new URL(authorizeUrl({ webUrl: `${gh.url}/`, apiUrl: '' }, { clientId: 'cid', redirectUri, state: 'abc' }));
    assert.equal(url.pathname, '/login/oauth/authorize');
    assert.deepEqual(Object.fromEntries(url.searchParams), { client_id: 'cid', redirect_uri: redirectUri, scope: 'read:org user:email', state: 'abc', allow_signup: 'false' });
  });

  it('exchanges a code once, then reads the user, the verified primary email and memberships', async () => {
    const c = await code('octo-cat');
    const token = await client.exchangeCode({ clientId: gh.clientId, clientSecret: gh.clientSecret, code: c, redirectUri });
    assert.match(token, /^gho_/);
    assert.deepEqual(await client.user(token), { id: 7, login: 'Octo-Cat', name: 'Octo-Cat' });
    assert.equal(await client.verifiedPrimaryEmail(token), 'octo@example.com');
    assert.equal(await client.orgMembership(token, 'acme'), 'pending');
    assert.equal(await client.orgMembership(token, 'other'), 'none');
    assert.equal(await client.teamMembership(token, 'acme', 'core', 'Octo-Cat'), 'active');
    assert.equal(await client.teamMembership(token, 'acme', 'docs', 'Octo-Cat'), 'none');
    await assert.rejects(client.exchangeCode({ clientId: gh.clientId, clientSecret: gh.clientSecret, code: c, redirectUri }), /bad_verification_code \(The code passed is incorrect or expired\.\)/);
  });

  it('reports GitHub error bodies in one line: wrong client secret, bad credentials, server errors, non-JSON', async () => {
    await assert.rejects(client.exchangeCode({ clientId: gh.clientId, clientSecret: 'nope', code: await code('octo-cat'), redirectUri }), /incorrect_client_credentials/);
    await assert.rejects(client.user('gho_not_a_real_token'), (e: GitHubError) => e instanceof GitHubError && e.status === 401 && /\/user failed: 401 Bad credentials/.test(e.message));
    gh.fail('/api/user/emails', 503);
    try {
      const token = await client.exchangeCode({ clientId: gh.clientId, clientSecret: gh.clientSecret, code: await code('octo-cat'), redirectUri });
      await assert.rejects(client.verifiedPrimaryEmail(token), /\/user\/emails failed: 503 Server Error/);
    } finally {
      gh.clearFailures();
    }
    const html = new GitHubClient({ endpoints: { webUrl: gh.url, apiUrl: `${gh.url}/nowhere` }, fetch: async () => new Response('<html>', { status: 502 }) });
    await assert.rejects(html.user('t'), /non-JSON body/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadServeSettings } from './load-config.ts';

const SHARED = 'shared-token-0123456789abcdef';
const SESSION = 'session-secret-0123456789abcdef-0123456789';
const base = { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SESSION, CRABBOX_STATE_DIR: '/nonexistent' };
const github = { CRABBOX_GITHUB_CLIENT_ID: 'Iv1.abc', CRABBOX_GITHUB_CLIENT_SECRET: 'client-secret-value-123', CRABBOX_GITHUB_ORGS: 'acme, widgets', CRABBOX_PUBLIC_URL: 'https://crabbox.acme.example' };

describe('coordinator login settings', () => {
  it('refuses to start when the session secret equals the shared token', () => {
    assert.throws(() => loadServeSettings({ ...base, CRABBOX_SESSION_SECRET: SHARED.padEnd(32, 'x'), CRABBOX_SHARED_TOKEN: SHARED.padEnd(32, 'x') }), /session secret must differ from the shared token/);
  });

  it('reads GitHub login from env with defaults for github.com, 30-day tokens and no Access', () => {
    const { config } = loadServeSettings({ ...base, ...github, CRABBOX_GITHUB_TEAMS: 'acme/platform' });
    assert.deepEqual(config.login.github, { clientId: 'Iv1.abc', clientSecret: 'client-secret-value-123', webUrl: 'https://github.com', apiUrl: 'https://api.github.com', orgs: ['acme', 'widgets'], teams: ['acme/platform'] });
    assert.equal(config.login.userTokenTtlSeconds, 30 * 86_400);
    assert.equal(config.login.publicUrl, 'https://crabbox.acme.example');
    assert.equal(config.access, undefined);
  });

  it('takes Enterprise URLs, a token lifetime and Access settings', () => {
    const { config } = loadServeSettings({
      ...base, ...github, CRABBOX_GITHUB_URL: 'https://ghe.acme.example', CRABBOX_GITHUB_API_URL: 'https://ghe.acme.example/api/v3', CRABBOX_USER_TOKEN_TTL: '12h',
      CRABBOX_ACCESS_TEAM_DOMAIN: 'acme.cloudflareaccess.com', CRABBOX_ACCESS_AUDIENCE: 'aud-tag',
    });
    assert.equal(config.login.github?.apiUrl, 'https://ghe.acme.example/api/v3');
    assert.equal(config.login.userTokenTtlSeconds, 12 * 3600);
    assert.deepEqual(config.access, { teamDomain: 'acme.cloudflareaccess.com', audience: 'aud-tag', jwksUrl: 'https://acme.cloudflareaccess.com/cdn-cgi/access/certs' });
  });

  it('refuses incomplete or unsafe login settings with one clear line', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ ...base, ...github, CRABBOX_GITHUB_CLIENT_SECRET: undefined }, /CRABBOX_GITHUB_CLIENT_SECRET/],
      [{ ...base, ...github, CRABBOX_GITHUB_ORGS: '' }, /at least one allowed organization/],
      [{ ...base, ...github, CRABBOX_PUBLIC_URL: undefined }, /public URL/],
      [{ ...base, ...github, CRABBOX_SESSION_SECRET: undefined }, /needs a session secret/],
      [{ ...base, ...github, CRABBOX_GITHUB_TEAMS: 'other/team' }, /team other\/team is not in an allowed organization/],
      [{ ...base, ...github, CRABBOX_GITHUB_TEAMS: 'not a team' }, /not org\/team-slug/],
      [{ ...base, ...github, CRABBOX_USER_TOKEN_TTL: 'forever' }, /CRABBOX_USER_TOKEN_TTL/],
      [{ ...base, ...github, CRABBOX_USER_TOKEN_TTL: '10s' }, /between 1 minute and 366 days/],
      [{ ...base, CRABBOX_ACCESS_TEAM_DOMAIN: 'acme.cloudflareaccess.com' }, /both a team domain and an audience/],
    ];
    for (const [env, message] of cases) assert.throws(() => loadServeSettings(env), (error: Error) => message.test(error.message) && !error.message.includes('\n'), String(message));
  });
});

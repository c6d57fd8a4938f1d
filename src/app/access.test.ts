import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accessFix, accessWall } from '../api/access-wall.ts';
import { CoordinatorClient } from '../api/client.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { tempDir } from '../testing/tmp.ts';
import { accessCredentials } from './access.ts';

const SECRET = 'access-client-secret-0123456789abcdef0123456789';

describe('Cloudflare Access credentials from env or a private file', () => {
  it('a service token (id + secret from a 0600 file) and a person\'s token become the headers Access reads; both are redacted', () => {
    const dir = tempDir('crabbox-access-');
    try {
      const file = join(dir.path, 'secret');
      writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
      const creds = accessCredentials({ CRABBOX_ACCESS_CLIENT_ID: 'abc.access', CRABBOX_ACCESS_CLIENT_SECRET_FILE: file, CRABBOX_ACCESS_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.person-token-0123456789.sig' });
      assert.deepEqual(creds.headers, { 'cf-access-client-id': 'abc.access', 'cf-access-client-secret': SECRET, 'cf-access-token': 'eyJhbGciOiJSUzI1NiJ9.person-token-0123456789.sig' });
      assert.deepEqual([creds.serviceToken, creds.userToken], [true, true]);
      assert.doesNotMatch(redact(`sent ${SECRET}`), new RegExp(SECRET));
      assert.deepEqual(accessCredentials({}).headers, {}, 'nothing set: nothing sent');
    } finally {
      dir.remove();
    }
  });

  it('refuses a readable file, half a service token and both NAME and NAME_FILE, in one line', () => {
    const dir = tempDir('crabbox-access-bad-');
    try {
      const loose = join(dir.path, 'loose');
      writeFileSync(loose, SECRET, { mode: 0o644 });
      const cases: [NodeJS.ProcessEnv, RegExp][] = [
        [{ CRABBOX_ACCESS_CLIENT_ID: 'abc.access', CRABBOX_ACCESS_CLIENT_SECRET_FILE: loose }, /is readable by others/],
        [{ CRABBOX_ACCESS_CLIENT_ID: 'abc.access' }, /CRABBOX_ACCESS_CLIENT_ID is set without its secret/],
        [{ CRABBOX_ACCESS_CLIENT_SECRET: SECRET }, /without CRABBOX_ACCESS_CLIENT_ID/],
        [{ CRABBOX_ACCESS_TOKEN: 'a', CRABBOX_ACCESS_TOKEN_FILE: loose }, /set CRABBOX_ACCESS_TOKEN or CRABBOX_ACCESS_TOKEN_FILE, not both/],
      ];
      for (const [env, message] of cases) assert.throws(() => accessCredentials(env), (e: Error) => isCrabboxError(e) && e.code === 'invalid_config' && message.test(e.message));
    } finally {
      dir.remove();
    }
  });
});

describe('an Access wall is told apart from the coordinator', () => {
  const res = (status: number, headers: Record<string, string>) => ({ status, headers: new Headers(headers) });
  it('a redirect to the team\'s login page, or Access\'s own 403 page; never the coordinator\'s JSON or the WAF', () => {
    assert.deepEqual(accessWall(res(302, { location: 'https://acme.cloudflareaccess.com/cdn-cgi/access/login/crabbox.example.com?kid=x' })), { kind: 'login-redirect', team: 'acme.cloudflareaccess.com' });
    assert.deepEqual(accessWall(res(302, { location: '/cdn-cgi/access/login/x' })), { kind: 'login-redirect', team: undefined });
    assert.equal(accessWall(res(302, { location: 'https://elsewhere.example/' })), undefined);
    assert.deepEqual(accessWall(res(403, { 'cf-ray': '1-FRA', server: 'cloudflare' }), '<html>Forbidden</html>'), { kind: 'forbidden' });
    assert.equal(accessWall(res(403, { 'cf-ray': '1-FRA' }), '{"error":"forbidden","message":"this needs the admin role"}'), undefined, 'the coordinator\'s own 403');
    assert.equal(accessWall(res(403, { 'cf-ray': '1-FRA' }), 'error code: 1010'), undefined, 'the WAF blocking a user agent');
    assert.equal(accessWall(res(403, {}), '<html>Forbidden</html>'), undefined, 'not from Cloudflare');
  });

  it('names the fix for what was sent', () => {
    assert.match(accessFix({ kind: 'login-redirect' }, { serviceToken: false, userToken: false }), /cloudflared access login.*CRABBOX_ACCESS_CLIENT_ID/);
    assert.match(accessFix({ kind: 'login-redirect' }, { serviceToken: true, userToken: false }), /Service Auth policy/);
    assert.match(accessFix({ kind: 'forbidden' }, { serviceToken: true, userToken: false }), /Access refused the credentials/);
  });

  it('the client sends the Access headers on every request and turns a wall into one line with the fix', async () => {
    const seen: Headers[] = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers));
      return new Response(null, { status: 302, headers: { location: 'https://acme.cloudflareaccess.com/cdn-cgi/access/login/c' } });
    }) as typeof fetch;
    const client = new CoordinatorClient({ url: 'https://c.example', token: 'shared-token-0123456789', owner: 'a', fetch: fetchStub, access: { headers: { 'cf-access-client-id': 'abc.access', 'cf-access-client-secret': SECRET }, serviceToken: true, userToken: false } });
    await assert.rejects(client.whoami(), (e: Error) => isCrabboxError(e) && e.code === 'unauthorized' && /Cloudflare Access stopped the request .*acme\.cloudflareaccess\.com/.test(e.message) && /Service Auth/.test(e.hint ?? ''));
    assert.equal(seen[0]?.get('cf-access-client-secret'), SECRET);
    assert.equal(seen[0]?.get('authorization'), 'Bearer shared-token-0123456789', 'Access is an outer gate: the coordinator token still goes too');
  });
});

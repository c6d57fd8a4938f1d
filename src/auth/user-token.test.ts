import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signUserToken, verifyUserToken, type UserTokenClaims } from './user-token.ts';

const SECRET = 'a-session-secret-that-is-long-enough-0123';
const NOW = Date.UTC(2026, 0, 1);
const claims: UserTokenClaims = { owner: 'alice@example.com', org: 'acme', login: 'alice', iat: NOW / 1000, exp: NOW / 1000 + 3600, jti: 'j1' };

describe('user tokens', () => {
  it('round-trips claims and carries the cbxu_ prefix', async () => {
    const token = await signUserToken(claims, SECRET);
    assert.match(token, /^cbxu_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await verifyUserToken(token, SECRET, NOW + 1000), { ok: true, claims });
  });

  it('refuses expiry, another secret, tampering and junk', async () => {
    const token = await signUserToken(claims, SECRET);
    assert.deepEqual(await verifyUserToken(token, SECRET, NOW + 3600_000), { ok: false, reason: 'expired' });
    assert.deepEqual(await verifyUserToken(token, `${SECRET}x`, NOW), { ok: false, reason: 'bad-signature' });
    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ v: 1, ...claims, owner: 'mallory' })).toString('base64url');
    assert.deepEqual(await verifyUserToken(`cbxu_${forged}.${sig}`, SECRET, NOW), { ok: false, reason: 'bad-signature' });
    assert.equal((await verifyUserToken(`${payload}.`, SECRET, NOW)).ok, false);
    for (const junk of ['', 'cbxu_', 'cbxu_.', 'cbxu_@@.@@', 'ghp_abc', `cbxu_${'a'.repeat(5000)}.x`]) assert.deepEqual(await verifyUserToken(junk, SECRET, NOW), { ok: false, reason: 'malformed' });
  });

  it('refuses to sign with a short secret', async () => {
    await assert.rejects(signUserToken(claims, 'short'), /at least 32/);
  });
});

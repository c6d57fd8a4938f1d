import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { USER_TOKEN_MAX_LIFETIME_SECONDS, signUserToken, verifyUserToken, type UserTokenClaims } from './user-token.ts';

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

  it('accepts only the canonical spelling of the signature (no variants of its last character)', async () => {
    const token = await signUserToken(claims, SECRET);
    const [signed, sig] = token.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes take 43 characters; the last one carries 4 bits and 2 unused ones, so 3 other characters decode alike.
    const last = alphabet.indexOf(sig.at(-1)!);
    const variants = [1, 2, 3].map((low) => `${signed}.${sig.slice(0, -1)}${alphabet[(last & ~3) | ((last + low) & 3)]}`);
    for (const variant of variants) {
      assert.deepEqual(Buffer.from(variant.split('.')[1]!, 'base64url'), Buffer.from(sig, 'base64url'), 'same bytes');
      assert.deepEqual(await verifyUserToken(variant, SECRET, NOW), { ok: false, reason: 'malformed' }, variant);
    }
    assert.equal((await verifyUserToken(token, SECRET, NOW)).ok, true);
  });

  it('bounds exp against iat: a lifetime over 366 days, an exp before iat or an iat in the future is refused', async () => {
    const { createHmac } = await import('node:crypto');
    const forge = (c: Record<string, unknown>) => {
      const signed = `cbxu_${Buffer.from(JSON.stringify({ v: 1, ...claims, ...c })).toString('base64url')}`;
      return `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
    };
    const iat = NOW / 1000;
    assert.equal((await verifyUserToken(forge({ exp: iat + USER_TOKEN_MAX_LIFETIME_SECONDS }), SECRET, NOW)).ok, true, 'the cap itself is fine');
    for (const [what, c] of [
      ['100 years', { exp: iat + 100 * 365 * 86_400 }],
      ['one second over the cap', { exp: iat + USER_TOKEN_MAX_LIFETIME_SECONDS + 1 }],
      ['exp before iat', { exp: iat - 10 }],
      ['issued a year from now', { iat: iat + 365 * 86_400, exp: iat + 366 * 86_400 }],
    ] as const) {
      assert.deepEqual(await verifyUserToken(forge(c), SECRET, NOW), { ok: false, reason: 'bad-lifetime' }, what);
    }
    await assert.rejects(signUserToken({ ...claims, exp: iat + USER_TOKEN_MAX_LIFETIME_SECONDS + 1 }, SECRET), /at most 366 days/);
  });

  it('refuses to sign with a short secret', async () => {
    await assert.rejects(signUserToken(claims, 'short'), /at least 32/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmacSha256, sameBytes, sha256, sha256Hex } from './digest.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('digest', () => {
  it('SHA-256 and HMAC-SHA256 give the published answers (FIPS 180-2 "abc", RFC 4231 case 2)', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hex(hmacSha256('Jefe', 'what do ya want for nothing?')), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('agree with OpenSSL (node:crypto) on any text or bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (key, message) => {
      assert.equal(hex(sha256(message)), createHash('sha256').update(message, 'utf8').digest('hex'));
      assert.equal(hex(hmacSha256(key, message)), createHmac('sha256', Buffer.from(key, 'utf8')).update(message, 'utf8').digest('hex'));
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.equal(hex(sha256(bytes)), createHash('sha256').update(bytes).digest('hex'));
    }), { numRuns: 200 });
  });

  it('HMAC-SHA256 matches Web Crypto, which signed every user token issued before it', async () => {
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('k'.repeat(40)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const webCrypto = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('cbxu_payload')));
    assert.equal(hex(hmacSha256('k'.repeat(40), 'cbxu_payload')), hex(webCrypto));
  });

  it('sameBytes: equal only for the same bytes and length', () => {
    assert.equal(sameBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)), true);
    assert.equal(sameBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)), false);
    assert.equal(sameBytes(Uint8Array.of(9, 2, 3), Uint8Array.of(1, 2, 3)), false);
    assert.equal(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
    assert.equal(sameBytes(new Uint8Array(0), new Uint8Array(0)), true);
  });
});

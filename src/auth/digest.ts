/**
 * SHA-256, HMAC-SHA256 and byte comparison without an early exit, computed synchronously in JavaScript
 * (@noble/hashes), the same on Node and on Workers. They sit on every authenticated request's path (the shared-token
 * check, user-token signatures). Web Crypto's digest and verify are thread-pool jobs on Node: each request's auth check
 * waited for another turn of the event loop, so requests that arrived together reached the store in different turns
 * and so in different commits (docs/performance.md, "the auth check").
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

const encoder = new TextEncoder();
const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? encoder.encode(data) : data);

export function sha256(data: string | Uint8Array): Uint8Array {
  return nobleSha256(bytesOf(data));
}

export function sha256Hex(data: string | Uint8Array): string {
  return Array.from(sha256(data), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function hmacSha256(key: string | Uint8Array, message: string | Uint8Array): Uint8Array {
  return hmac(nobleSha256, bytesOf(key), bytesOf(message));
}

/** Whether two byte strings are equal; the time taken depends on their lengths only, never on where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

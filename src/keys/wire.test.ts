import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base64, fromBase64, WireWriter } from './wire.ts';

describe('SSH wire encoding and base64', () => {
  it('base64 matches Node for every length modulo 3, and decodes both alphabets back', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      const expected = Buffer.from(bytes).toString('base64');
      assert.equal(base64(bytes), expected, `length ${length}`);
      assert.deepEqual(fromBase64(expected), bytes);
      assert.deepEqual(fromBase64(Buffer.from(bytes).toString('base64url')), bytes);
    }
    assert.throws(() => fromBase64('ab$c'), /invalid base64/);
  });

  it('writes uint32 big-endian and length-prefixed strings', () => {
    const bytes = new WireWriter().uint32(0x01020304).string('ab').string(new Uint8Array([9])).bytes();
    assert.deepEqual([...bytes], [1, 2, 3, 4, 0, 0, 0, 2, 97, 98, 0, 0, 0, 1, 9]);
  });
});

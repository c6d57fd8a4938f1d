import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from './iso.ts';

describe('isoTime', () => {
  it('matches Date#toISOString across leap years, centuries, month ends and random instants', () => {
    const fixed = [0, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 1_709_164_800_000, 253_402_300_799_999, Date.UTC(2026, 0, 15, 12)];
    for (const ms of fixed) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const ms = Math.floor((seed / 2 ** 31) * 253_402_300_799_999);
      assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    }
  });

  it('falls back to Date outside 1970-9999 and for fractions', () => {
    for (const ms of [-1, 253_402_300_800_000, 1.5]) assert.equal(isoTime(ms), new Date(ms).toISOString());
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numberPlaceholders } from './driver.ts';

describe('numberPlaceholders', () => {
  it('numbers ? placeholders in order and leaves quoted question marks alone', () => {
    assert.equal(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)'), 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
    assert.equal(numberPlaceholders("SELECT '?' AS q, x FROM t WHERE y = ? AND z = 'it''s?'"), "SELECT '?' AS q, x FROM t WHERE y = $1 AND z = 'it''s?'");
    assert.equal(numberPlaceholders('SELECT 1'), 'SELECT 1');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellQuote, shellQuoteWord } from './quote.ts';

describe('shellQuote', () => {
  it('leaves safe words bare and quotes the rest', () => {
    assert.equal(shellQuoteWord('npm'), 'npm');
    assert.equal(shellQuoteWord(''), "''");
    assert.equal(shellQuoteWord('a b'), "'a b'");
    assert.equal(shellQuoteWord("it's"), `'it'\\''s'`);
  });

  it('round-trips hostile words through a real shell unchanged', () => {
    const words = ['$(touch /tmp/never)', '`id`', "a'b\"c", 'x; rm -rf /', '*', '~', '\n', 'ünïcode', '-e', '$HOME', '\\'];
    const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${shellQuote(words)}`]).toString();
    assert.deepEqual(out.split('\0').slice(0, -1), words);
  });
});

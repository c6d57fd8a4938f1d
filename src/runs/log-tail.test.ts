import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, clearSecrets, registerSecret } from '../redact/redact.ts';
import { LogTail } from './log-tail.ts';

afterEach(() => clearSecrets());

describe('LogTail', () => {
  it('keeps everything while under the limit', () => {
    const tail = new LogTail({ maxBytes: 1024 });
    tail.write('hello\n');
    tail.write(Buffer.from('world\n'));
    assert.deepEqual(tail.finish(), { text: 'hello\nworld\n', totalBytes: 12, truncated: false });
  });

  it('keeps only the last N bytes, never more, and says it cut', () => {
    const tail = new LogTail({ maxBytes: 100 });
    let written = 0;
    for (let i = 0; i < 1000; i++) {
      tail.write(`line ${i}\n`);
      written += `line ${i}\n`.length;
    }
    const { text, totalBytes, truncated } = tail.finish();
    assert.ok(Buffer.byteLength(text) <= 100);
    assert.ok(text.endsWith('line 999\n'));
    assert.equal(truncated, true);
    assert.equal(totalBytes, written);
  });

  it('does not start the tail in the middle of a UTF-8 character', () => {
    const tail = new LogTail({ maxBytes: 7 });
    tail.write('✓✓✓✓✓\n');
    const { text } = tail.finish();
    assert.ok(!text.includes('\uFFFD'), JSON.stringify(text));
    assert.ok(text.endsWith('✓\n'));
  });

  it('redacts secrets split across writes', () => {
    registerSecret('tail-canary-51c0');
    const tail = new LogTail({ maxBytes: 1024 });
    for (const piece of ['out: tail-ca', 'nary-5', '1c0 and API_', 'TOKEN=abc', 'def123\nnext\n']) tail.write(piece);
    const { text } = tail.finish();
    assert.equal(text, `out: ${REDACTED} and API_TOKEN=${REDACTED}\nnext\n`);
  });

  it('a snapshot before close leaves out the incomplete last line; close flushes it', () => {
    const tail = new LogTail({ maxBytes: 1024 });
    tail.write('done\npartial');
    assert.equal(tail.snapshot().text, 'done\n');
    tail.close();
    tail.write('ignored after close');
    assert.equal(tail.snapshot().text, 'done\npartial');
  });

  it('holds nothing with a zero limit', () => {
    const tail = new LogTail({ maxBytes: 0 });
    tail.write('something\n');
    assert.deepEqual(tail.finish(), { text: '', totalBytes: 10, truncated: true });
  });
});

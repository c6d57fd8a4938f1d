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

describe('LogTail at the cut edge', () => {
  it('never half-shows a secret that the window cut through, even when redaction shrinks the window', () => {
    // 70 copies of a registered 1000-character secret shrink to "[redacted]" each, so the window's cut edge, which
    // falls inside the first copy, ends up within the kept bytes: only dropping the cut line keeps it hidden.
    const secret = 'abcdefghij'.repeat(100);
    registerSecret(secret);
    const tail = new LogTail({ maxBytes: 4096 });
    tail.write('start\n');
    for (let i = 0; i < 70; i++) tail.write(`${secret}\n`);
    tail.write('ok\n');
    const { text, truncated } = tail.finish();
    assert.equal(truncated, true);
    assert.ok(!text.includes('abcdefghijabcdefghij'), text.slice(0, 120));
    assert.ok(text.endsWith(`${REDACTED}\nok\n`));
  });

  it('drops the body of a private key whose BEGIN line fell off the window', () => {
    const body = Array.from({ length: 4000 }, (_, i) => `QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo${i}`).join('\n');
    const tail = new LogTail({ maxBytes: 1024 });
    tail.write(`-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\nafter the key\n`);
    const { text } = tail.finish();
    assert.ok(!text.includes('QUJDREVG'), text.slice(0, 200));
    assert.ok(text.endsWith('after the key\n'));
  });

  it('keeps the last bytes of a large output and counts them all', () => {
    const tail = new LogTail({ maxBytes: 4096 });
    const line = Buffer.from(`${'y'.repeat(99)}\n`);
    for (let i = 0; i < 100_000; i++) tail.write(line);
    const { text, totalBytes, truncated } = tail.finish();
    assert.equal(totalBytes, 100 * 100_000);
    assert.equal(truncated, true);
    assert.ok(Buffer.byteLength(text) <= 4096);
  });
});

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { REDACTED, clearSecrets, redact, registerSecret } from './redact.ts';
import { StreamRedactor, createRedactStream } from './stream.ts';
import { ManualClock } from '../domain/clock.ts';
import { ALNUM, INNOCENT, generators, seededRandom } from './testing.ts';

afterEach(() => clearSecrets());

/** Feeds the text to a redactor in random-sized pieces and joins what comes out. */
function streamed(input: string, cut: (n: number) => number, options = {}): string {
  const r = new StreamRedactor(options);
  let out = '';
  for (let i = 0; i < input.length; ) {
    const n = Math.max(1, cut(input.length - i));
    out += r.push(input.slice(i, i + n));
    i += n;
  }
  return out + r.end();
}

describe('StreamRedactor', () => {
  it('hides secrets split across chunks at every position', () => {
    registerSecret('canary-Zq81-secret');
    const input = `line one\nthe value canary-Zq81-secret here\nAPI_TOKEN=abcdef}123 x\nghp_${'a1'.repeat(18)}\n`;
    for (let size = 1; size <= 12; size++) {
      const out = streamed(input, () => size);
      assert.equal(out, redact(input), `chunk size ${size}`);
      assert.ok(!out.includes('canary-Zq81-secret') && !out.includes('abcdef') && !out.includes('a1a1a1'));
    }
  });

  it('equals whole-text redaction for random text cut at random points (property)', () => {
    const g = generators(seededRandom(99));
    for (let i = 0; i < 200; i++) {
      const secret = `s3-${g.string(ALNUM, 8, 30)}`;
      clearSecrets();
      registerSecret(secret);
      const lines = Array.from({ length: g.int(1, 8) }, () => `${g.pick(INNOCENT)} ${g.pick([secret, `PASSWORD=${g.string(ALNUM, 8, 20)}&x`, 'ok'])}`);
      const input = lines.join('\n') + g.pick(['', '\n']);
      const out = streamed(input, (left) => g.int(1, Math.min(left, 17)));
      assert.equal(out, redact(input), `case ${i}`);
      assert.ok(!out.includes(secret), `case ${i}`);
    }
  });

  it('never lets a secret through when idle releases happen at random points (property)', () => {
    const g = generators(seededRandom(1234));
    for (let i = 0; i < 300; i++) {
      const secret = `s3-${g.string(ALNUM, 8, 30)}`;
      const shaped = g.string(ALNUM, 10, 20);
      clearSecrets();
      registerSecret(secret);
      const input = Array.from({ length: g.int(1, 6) }, () => `${g.pick(INNOCENT)} ${g.pick([secret, `API_TOKEN=${shaped}`, `password: ${shaped}`, `Bearer ${shaped}9`, 'ok'])}`).join(g.pick(['\n', ' ', '\r']));
      const r = new StreamRedactor();
      let out = '';
      for (let at = 0; at < input.length; ) {
        const n = g.int(1, 9);
        out += r.push(input.slice(at, at + n));
        at += n;
        if (g.int(0, 2) === 0) out += r.releaseIdle();
      }
      out += r.end();
      assert.ok(!out.includes(secret) && !out.includes(shaped), `case ${i}: ${JSON.stringify(input)} -> ${JSON.stringify(out)}`);
    }
  });

  it('hides a bare JWT split across chunks at every position, also with idle releases between chunks', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const jwt = `${b64('{"alg":"RS256","typ":"JWT","kid":"k1"}')}.${b64('{"sub":"alice","aud":"crabbox","exp":1767225600}')}.${'Zm9vYmFy-_'.repeat(30)}`;
    const input = `the server sent ${jwt} for alice\nnext ${jwt}`;
    for (let at = 1; at < input.length; at++) {
      const r = new StreamRedactor();
      const out = r.push(input.slice(0, at)) + r.releaseIdle() + r.push(input.slice(at)) + r.releaseIdle() + r.end();
      assert.equal(out, `the server sent ${REDACTED} for alice\nnext ${REDACTED}`, `cut at ${at}`);
    }
  });

  it('drops a PEM private key block that arrives line by line', () => {
    const body = Array.from({ length: 50 }, (_, i) => `MIIEvQIBADANBgkqhkiG9w0BAQEFAASC${i}`).join('\n');
    const input = `before -----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY----- after\nnext\n`;
    const out = streamed(input, () => 7);
    assert.equal(out, `before ${REDACTED} after\nnext\n`);
    assert.equal(out, redact(input));
  });

  it('bounds what it holds back on a line with no newline, never cutting a known secret', () => {
    registerSecret('longish-canary-value');
    const r = new StreamRedactor({ maxHoldChars: 256 });
    let out = '';
    for (let i = 0; i < 200; i++) out += r.push(`word${i} longish-canary-value `);
    assert.ok(out.length > 0, 'a long line is released in part before its newline');
    out += r.end();
    assert.ok(!out.includes('longish-canary-value'));
    assert.equal((out.match(/\[redacted\]/g) ?? []).length, 200);
  });

  it('works as a Transform over byte chunks without splitting UTF-8 characters', async () => {
    registerSecret('ünïcödé-secret');
    const bytes = Buffer.from('héllo ünïcödé-secret ✓\nbye\n');
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const out = await text(Readable.from(chunks).pipe(createRedactStream()));
    assert.equal(out, `héllo ${REDACTED} ✓\nbye\n`);
  });

  it('treats \\r as a line end, so progress output is not held back', () => {
    const r = new StreamRedactor();
    assert.equal(r.push('\r 10% [=>   ]\r 50% [===> ]'), '\r 10% [=>   ]\r');
    assert.equal(r.push('\r100% TOKEN=abcdef12\r\n'), ` 50% [===> ]\r100% TOKEN=${REDACTED}\r\n`);
  });

  it('releases a quiet incomplete line except its last two words and the longest secret', () => {
    const r = new StreamRedactor();
    assert.equal(r.push('Downloading 10 of 20 files'), '');
    assert.equal(r.releaseIdle(), 'Downloading 10 of ');
    assert.equal(r.releaseIdle(), '');
    assert.equal(r.push(' done\n'), '20 files done\n');
    r.push('password: ');
    assert.equal(r.releaseIdle(), '', 'a name: head waits for its value');
    assert.equal(r.push('hunter2hunter2\n'), `password: ${REDACTED}\n`);
    registerSecret('idle-canary-secret');
    r.push('Downloading file');
    assert.equal(r.releaseIdle(), '', 'never cut inside a word');
    r.push(' short idle-canary-sec');
    assert.equal(r.releaseIdle(), 'Downloading file ', 'the possible start of a registered secret stays held');
    assert.equal(r.push('ret here\n'), `short ${REDACTED} here\n`);
  });

  it('the stream releases a quiet prompt when its idle timer fires', async () => {
    const clock = new ManualClock();
    const stream = createRedactStream({ clock, idleFlushMs: 100 });
    const out: string[] = [];
    stream.on('data', (b: Buffer | string) => out.push(b.toString()));
    stream.write('Continue with the install? [y/N] ');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.join(''), '');
    clock.advance(99);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.join(''), '', 'nothing is released before the idle time has passed');
    clock.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.join(''), 'Continue with the install? ');
    stream.end('y\n');
    await new Promise((resolve) => stream.on('end', resolve));
    assert.equal(out.join(''), 'Continue with the install? [y/N] y\n');
  });
});

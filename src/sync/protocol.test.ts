import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeRequest, WrapperOutput, type WrapperMessage } from './protocol.ts';

function feed(chunks: (string | Buffer)[]): { messages: WrapperMessage[]; data: string; noise: string; code: number | undefined } {
  const messages: WrapperMessage[] = [];
  let data = '';
  let noise = '';
  const out = new WrapperOutput({ onMessage: (m) => messages.push(m), onData: (b) => (data += b.toString('latin1')), onNoise: (b) => (noise += b.toString()) });
  for (const c of chunks) out.push(Buffer.from(c as string, 'latin1'));
  return { messages, data, noise, code: out.end() };
}

test('control messages, shell noise, command output and the exit trailer are told apart, however the bytes are split', () => {
  const stream = 'motd from .bashrc\n\0crabbox:in-sync\n\0crabbox:start 42\nhello\0world\n\0crabbox:exit 7\n';
  for (let size = 1; size <= stream.length; size++) {
    const chunks: string[] = [];
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
    const r = feed(chunks);
    assert.deepEqual(r.messages.map((m) => m.word), ['in-sync', 'start'], `chunk size ${size}`);
    assert.equal(r.noise, 'motd from .bashrc\n');
    assert.equal(r.data, 'hello\0world\n');
    assert.equal(r.code, 7, `chunk size ${size}`);
  }
});

test('binary output full of NULs and fake trailers passes through byte for byte under uneven chunking', () => {
  let body = '';
  for (let i = 0; i < 300; i++) body += i % 7 === 0 ? '\0crabbox:exit 3\n' : i % 3 === 0 ? '\0\0' : String.fromCharCode(i % 256);
  const stream = `\0crabbox:start 1\n${body}\0crabbox:exit 5\n`;
  for (const sizes of [[1], [23, 1], [24], [25, 2], [5, 40, 3], [stream.length]]) {
    const chunks: string[] = [];
    for (let i = 0, k = 0; i < stream.length; k++) {
      const size = sizes[k % sizes.length]!;
      chunks.push(stream.slice(i, i + size));
      i += size;
    }
    const r = feed(chunks);
    assert.equal(r.data, body, `chunk sizes ${sizes.join(',')}`);
    assert.equal(r.code, 5, `chunk sizes ${sizes.join(',')}`);
  }
});

test('a fake trailer in the middle of the output is output, and no trailer means no exit code', () => {
  const r = feed(['\0crabbox:start 1\n', '\0crabbox:exit 0\n', 'more output that follows']);
  assert.equal(r.data, '\0crabbox:exit 0\nmore output that follows');
  assert.equal(r.code, undefined);
  const dropped = feed(['\0crabbox:start 1\n', 'partial']);
  assert.equal(dropped.code, undefined);
  assert.equal(dropped.data, 'partial');
});

test('a sample payload of deleted paths is read by length, newlines and all', () => {
  const r = feed(['\0crabbox:sample 8\na\nb\0c d\0\0crabbox:fail too-many-deletes 900\n']);
  assert.equal(r.messages[0]?.word, 'sample');
  assert.equal(r.messages[0]?.payload?.toString(), 'a\nb\0c d\0');
  assert.deepEqual(r.messages[1], { word: 'fail', args: ['too-many-deletes', '900'] });
});

test('request fields cannot smuggle a NUL', () => {
  assert.throws(() => encodeRequest({ workdir: '/w', metadir: '/m', sync: true, lockWaitSeconds: 1, mode: 'argv', args: ['a\0b'] }), /NUL/);
});

test('the wrapper script is ShellCheck-clean', () => {
  const script = fileURLToPath(new URL('./remote/crabbox-run.sh', import.meta.url));
  const r = spawnSync('shellcheck', ['-s', 'bash', script], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'shellcheck is installed (scripts/setup.sh --test)');
  assert.equal(r.status, 0, r.stdout);
});

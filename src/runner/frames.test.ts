import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { frame, FrameReader, MAX_FRAME } from './frames.ts';

describe('runner frames', () => {
  it('reads back frames split at every byte and joined in one chunk: control frames whole, output in pieces', () => {
    const bytes = Buffer.concat([frame('q', '{"v":1}'), frame('o', Buffer.from([0, 1, 2, 255])), frame('e', ''), frame('x', '{"code":3}'), frame('g', '')]);
    const whole = new FrameReader().push(bytes);
    assert.deepEqual(whole.map((f) => [f.type, f.payload.toString('hex')]), [['q', Buffer.from('{"v":1}').toString('hex')], ['o', '000102ff'], ['x', Buffer.from('{"code":3}').toString('hex')], ['g', '']]);
    const reader = new FrameReader();
    const split = [...bytes].flatMap((b) => reader.push(Buffer.from([b])));
    // Output arrives byte by byte, as it was read; control frames are gathered.
    assert.deepEqual(split.map((f) => [f.type, f.payload.toString('hex')]), [['q', Buffer.from('{"v":1}').toString('hex')], ['o', '00'], ['o', '01'], ['o', '02'], ['o', 'ff'], ['x', Buffer.from('{"code":3}').toString('hex')], ['g', '']]);
  });

  it('hands output on as slices of the chunks read, not copies', () => {
    const payload = Buffer.alloc(100_000, 7);
    const bytes = frame('o', payload);
    const chunk = bytes.subarray(0, 70_000);
    const [piece] = new FrameReader().push(chunk);
    assert.equal(piece!.payload.buffer, chunk.buffer, 'the same memory');
    assert.equal(piece!.payload.length, 70_000 - 5);
  });

  it('throws on an unknown frame type and on a frame over the limit', () => {
    assert.throws(() => new FrameReader().push(Buffer.from('z\0\0\0\0')), /unknown frame type/);
    const head = Buffer.alloc(5);
    head.write('o');
    head.writeUInt32BE(MAX_FRAME + 1, 1);
    assert.throws(() => new FrameReader().push(head), /over the limit/);
  });
});

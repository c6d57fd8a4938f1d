import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareBytes } from './order.ts';
import { encodeRecord, indexEntries, TrackedListing, type TrackedRecord } from './tracked.ts';

test('a listing finds every path by binary search, and nothing else, whatever the names hold', () => {
  const names = ['a', 'a b', 'a\nb', 'a/b', 'a/b/c', 'ab', 'Z', 'z', 'ü', '\u{1F600}', '-x', 'dir/very/deep/file.txt', '\u0001odd'];
  for (let i = 0; i < 300; i++) names.push(`gen/${(i * 7919) % 1000}/${i}.txt`);
  const records: TrackedRecord[] = [...new Set(names)].sort(compareBytes).map((path, i) => ({ path, flag: i % 5 === 0 ? 'x' : '-', id: `100644 ${i.toString(16).padStart(40, '0')}`, size: i % 7 === 0 ? -1 : i }));
  const listing = new TrackedListing(Buffer.concat(records.map(encodeRecord)), 40);
  for (const r of records) assert.deepEqual(listing.get(r.path), r, r.path);
  for (const missing of ['', 'a/', 'a b ', 'gen', 'zz', 'gen/1/999.txt']) assert.equal(listing.get(missing), undefined, missing);
  assert.deepEqual([...listing.records()], records);
  listing.setSize('a\nb', 12345);
  assert.equal(listing.get('a\nb')?.size, 12345);
  assert.equal(listing.get('a/b')?.path, 'a/b', 'neighbours are untouched');
});

test('index entries fold the stages of an unmerged path and flag what the index cannot vouch for', () => {
  const line = (tag: string, mode: string, oid: string, stage: number, path: string): string => `${tag} ${mode} ${oid} ${stage}\t${path}\0`;
  const oid = (c: string): string => c.repeat(40);
  const listing = Buffer.from([
    line('H', '100644', oid('a'), 0, 'clean.txt'),
    line('M', '100644', oid('b'), 1, 'conflict.txt'),
    line('M', '100644', oid('c'), 2, 'conflict.txt'),
    line('M', '100644', oid('d'), 3, 'conflict.txt'),
    line('h', '100644', oid('e'), 0, 'assumed.txt'),
    line('S', '100644', oid('f'), 0, 'sparse.txt'),
    line('H', '160000', oid('1'), 0, 'submodule'),
  ].join(''));
  assert.deepEqual([...indexEntries(listing)].map((e) => [e.path.toString(), e.flag]), [
    ['clean.txt', '-'], ['conflict.txt', 'u'], ['assumed.txt', 'u'], ['sparse.txt', 'u'], ['submodule', 'd'],
  ]);
});

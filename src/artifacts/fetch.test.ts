import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCrabboxError } from '../domain/errors.ts';
import { tempDir } from '../testing/tmp.ts';
import { localBox } from '../testing/local-box.ts';
import type { BoxConnection } from '../sync/box.ts';
import { fetchFromBox, safeRelative, type BoxEntry } from './fetch.ts';
import { downloadArtifacts } from './download.ts';
import { downloadMatcher, rootOf, validateDownloadPattern } from './globs.ts';

const tmp = tempDir('crabbox-fetch-');
after(() => tmp.remove());
let n = 0;
const fresh = (): string => {
  const dir = join(tmp.path, `case-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
/** Selects every listed file into `dest`. */
const allInto = (dest: string) => (entries: BoxEntry[]) => ({ dest, files: new Map(entries.filter((e) => e.kind === 'file').map((e) => [e.path, e.path])) });
const limits = { maxFiles: 100, maxBytes: 1024 * 1024 };

/** Every file under a folder, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** One tar header block (ustar), with its checksum. */
function header(name: string, size: number, type: string, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}
const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const entry = (name: string, body: string | Buffer, type = '0', link = ''): Buffer => Buffer.concat([header(name, type === '0' ? Buffer.byteLength(body) : 0, type, link), type === '0' ? pad(Buffer.from(body)) : Buffer.alloc(0)]);
const END = Buffer.alloc(1024);

/** A box that answers every request with these bytes, whatever it is asked: a hostile box's worst. */
function hostileBox(dir: string, answer: Buffer): BoxConnection {
  const file = join(dir, `answer-${++n}`);
  writeFileSync(file, answer);
  return { ...localBox(dir), exec: () => spawn('sh', ['-c', `cat >/dev/null & cat '${file}'`], { stdio: ['pipe', 'pipe', 'pipe'], detached: true }) };
}
const listing = (...records: string[]): Buffer => Buffer.from(`${records.map((r) => `${r}\0`).join('')}\0`);

describe('download paths', () => {
  it('are relative to the checkout; absolute, ~, .., a leading - and control characters are refused in one line', () => {
    assert.equal(validateDownloadPattern('./coverage/'), 'coverage');
    assert.equal(validateDownloadPattern('./'), '.');
    for (const bad of ['/etc/passwd', '~/x', '../up', 'a/../../b', '-rf', 'a\nb', '']) {
      assert.throws(() => validateDownloadPattern(bad), (e: unknown) => isCrabboxError(e) && e.exitCode === 64 && !e.message.includes('\n') && e.message.startsWith('--download'));
    }
  });

  it('list from their literal folder and match files in it, under a named folder, or by glob', () => {
    assert.deepEqual(['coverage/**', 'test-results', 'a/b/*.xml', '*.log', 'x.txt'].map(rootOf), ['coverage', 'test-results', 'a/b', '.', 'x.txt']);
    const match = downloadMatcher(['coverage/**', 'test-results', 'logs/*.txt']);
    assert.equal(match('coverage/lcov/index.html'), 0);
    assert.equal(match('test-results/a/b.xml'), 1);
    assert.equal(match('logs/x.txt'), 2);
    assert.equal(match('logs/deep/x.txt'), undefined);
    assert.equal(match('test-results-old/a'), undefined);
  });

  it('safeRelative refuses every name that could leave the folder', () => {
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', './a', 'a/.', 'a\\..\\b', 'a\0b']) assert.equal(safeRelative(bad), false, bad);
    assert.equal(safeRelative('a/b c/d.txt'), true);
  });
});

describe('fetchFromBox on a real box (the wrapper over a local shell)', () => {
  it('copies regular files with their paths; symlinks (to /etc, to a file outside) are listed, never followed or copied', async () => {
    const work = fresh();
    mkdirSync(join(work, 'out', 'deep'), { recursive: true });
    writeFileSync(join(work, 'out', 'a.txt'), 'A');
    writeFileSync(join(work, 'out', 'deep', 'b with space.txt'), 'BB');
    symlinkSync('/etc', join(work, 'out', 'etc'));
    symlinkSync('/etc/passwd', join(work, 'out', 'passwd'));
    symlinkSync('/etc', join(work, 'evil'));
    const dest = fresh();
    let seen: BoxEntry[] = [];
    const r = await fetchFromBox({ box: localBox(work), workdir: work, roots: ['out', 'evil', 'evil/passwd', 'missing'], limits, select: (e) => ((seen = e), allInto(dest)(e)) });
    assert.deepEqual(tree(dest), ['out/a.txt', 'out/deep/b with space.txt']);
    assert.equal(readFileSync(join(dest, 'out/deep/b with space.txt'), 'utf8'), 'BB');
    assert.deepEqual([...r.files].sort(), ['out/a.txt', 'out/deep/b with space.txt']);
    assert.equal(r.bytes, 3);
    assert.equal(r.skipped, 4);
    assert.deepEqual(seen.filter((e) => e.kind === 'symlink').map((e) => e.path).sort(), ['evil', 'evil/passwd', 'out/etc', 'out/passwd']);
  });

  it('a 10 GB sparse file is refused from the listing, before a byte moves, with the limit named', async () => {
    const work = fresh();
    writeFileSync(join(work, 'small.txt'), 'x');
    const big = spawn('truncate', ['-s', '10G', join(work, 'huge.bin')]);
    await new Promise((resolve) => big.on('close', resolve));
    const dest = fresh();
    await assert.rejects(fetchFromBox({ box: localBox(work), workdir: work, roots: ['.'], limits, select: allInto(dest) }), (e: unknown) => {
      assert.ok(isCrabboxError(e));
      assert.equal(e.exitCode, 65);
      assert.match(e.message, /^the matching files come to 10\.0 GiB, more than artifacts\.maxBytes \(1\.0 MiB\); nothing was copied$/);
      return true;
    });
    assert.deepEqual(tree(dest), []);
    await assert.rejects(fetchFromBox({ box: localBox(work), workdir: work, roots: ['small.txt'], limits: { maxFiles: 0, maxBytes: 10 }, select: allInto(dest) }), /1 files match, more than artifacts\.maxFiles \(0\)/);
  });
});

describe('fetchFromBox against a hostile box', () => {
  it('a listing naming ../ or an absolute path stops the copy: nothing is written', async () => {
    for (const bad of ['f1 ../escape', 'f1 /etc/passwd', 'f1 a/../../x']) {
      const dest = fresh();
      await assert.rejects(fetchFromBox({ box: hostileBox(tmp.path, listing(bad)), workdir: '/w', roots: ['.'], limits, select: allInto(dest) }), /malformed file listing/);
      assert.deepEqual(tree(dest), []);
    }
  });

  it('tar entries it was not asked for (../ names, absolute names, symlinks, hard links) are read past, never written', async () => {
    const dest = fresh();
    const outside = join(tmp.path, 'escape.txt');
    const answer = Buffer.concat([
      listing('f2 ok.txt', 'f3 link.txt'),
      entry(`../escape.txt`, 'no'), entry(outside, 'no'), entry('link.txt', '', '2', '/etc/passwd'), entry('hard.txt', '', '1', '/etc/passwd'),
      entry('ok.txt', 'ok'), entry('ok.txt', 'again'), END,
    ]);
    const r = await fetchFromBox({ box: hostileBox(tmp.path, answer), workdir: '/w', roots: ['.'], limits, select: allInto(dest) });
    assert.deepEqual(tree(dest), ['ok.txt']);
    assert.equal(readFileSync(join(dest, 'ok.txt'), 'utf8'), 'ok', 'the first copy only');
    assert.deepEqual(r.files, ['ok.txt']);
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(join(dest, 'link.txt')), false);
  });

  it('a box that sends more than it listed stops at the limit, and the partial file is removed', async () => {
    const dest = fresh();
    const answer = Buffer.concat([listing('f1 a.txt', 'f1 b.txt'), entry('a.txt', 'x'), entry('b.txt', Buffer.alloc(2 * 1024 * 1024, 1)), END]);
    await assert.rejects(fetchFromBox({ box: hostileBox(tmp.path, answer), workdir: '/w', roots: ['.'], limits, select: allInto(dest) }), (e: unknown) => {
      assert.ok(isCrabboxError(e));
      assert.match(e.message, /the box sent more than artifacts\.maxBytes \(1\.0 MiB\); copying stopped/);
      return true;
    });
    assert.deepEqual(tree(dest), ['a.txt']);
  });

  it('a corrupt archive is a one-line error, not a crash', async () => {
    const bad = entry('a.txt', 'x');
    bad[148] = 0x39; // break the checksum
    await assert.rejects(fetchFromBox({ box: hostileBox(tmp.path, Buffer.concat([listing('f1 a.txt'), bad])), workdir: '/w', roots: ['.'], limits, select: allInto(fresh()) }), /malformed archive \(checksum\)/);
  });
});

describe('downloadArtifacts', () => {
  it('never writes through a .crabbox or .crabbox/artifacts that is a symlink', async () => {
    const work = fresh();
    writeFileSync(join(work, 'r.txt'), 'r');
    const repo = fresh();
    const elsewhere = fresh();
    symlinkSync(elsewhere, join(repo, '.crabbox'));
    const warnings: string[] = [];
    const summary = await downloadArtifacts({ box: localBox(work), workdir: work, patterns: ['r.txt'], repoRoot: repo, name: 'run_000000000001', limits, warn: (l) => warnings.push(l) });
    assert.equal(summary.files, 0);
    assert.match(summary.error ?? '', /^\.crabbox is not a folder \(a symlink or a file\): artifacts are never written through it$/);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.equal(warnings.length, 1);
  });

  it('says which paths matched nothing and makes no folder when nothing matched', async () => {
    const work = fresh();
    const repo = fresh();
    const warnings: string[] = [];
    const summary = await downloadArtifacts({ box: localBox(work), workdir: work, patterns: ['coverage'], repoRoot: repo, name: 'run_000000000002', limits, warn: (l) => warnings.push(l) });
    assert.deepEqual(summary, { dir: '.crabbox/artifacts/run_000000000002', files: 0, bytes: 0, paths: [], omitted: 0, skipped: 0 });
    assert.deepEqual(warnings, ['warning: download "coverage": nothing matched on the box']);
    assert.equal(existsSync(join(repo, '.crabbox')), false);
  });
});

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import type { GitOffer } from './protocol.ts';

/**
 * Git on the box (docs/sync.md, "Git on the box"; decision 0052): the box's checkout gets a `.git` of its own with
 * the local HEAD commit (and up to `sync.gitDepth` commits of history, shallow), the branch, and the local index's
 * entries, so `git status`, `git diff`, `git log` and `git describe` answer there as they do here. Nothing else of the
 * local `.git` is sent: no config (remote URLs can hold credentials), hooks, info/exclude or other refs.
 *
 * What the box has is remembered per lease workspace in a small state file; when HEAD and the index are unchanged
 * (the quick key: HEAD, its ref and the index file's stat), nothing runs and nothing is sent.
 *
 * GitMeta is the offer's git fields (GitOffer, src/sync/protocol.ts) and the bookkeeping of what the box has.
 */
export interface GitMeta extends GitOffer {
  /** Records what the box now has; call when it said so. */
  commit(): void;
  /** Forgets what the box has (it said it is out of date): the next run sends everything again. */
  drop(): void;
}

const EMPTY_BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';

interface BoxGitState {
  version: 1;
  key: string;
  head: string;
  ref: string;
  shallow: string[];
  /** Commits the box has (newest first, at most MAX_KNOWN): a new commit whose parents are among them is no boundary. */
  commits: string[];
  indexHash: string;
}

const MAX_KNOWN = 10_000;

/** Runs git with optional stdin; stdout as bytes. */
function run(cwd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['-c', 'core.quotePath=false', ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => reject(new CrabboxError('sync_failed', `git ${args[0]} failed: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolvePromise(Buffer.concat(out));
      const first = Buffer.concat(err).toString('utf8').trim().split('\n')[0] ?? '';
      reject(new CrabboxError('sync_failed', `git ${args[0]} failed: ${first || `exit ${code}`}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** The files whose change means HEAD or the index changed: `.git` may be a folder or a worktree's `gitdir:` file. */
function quickKey(repoRoot: string, depth: number): string {
  const hash = createHash('sha256').update(`depth ${depth}\n`);
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const stamp = (path: string): string => {
    try {
      const s = statSync(path, { bigint: true });
      return `${s.size} ${s.mtimeNs} ${s.ctimeNs} ${s.ino}`;
    } catch {
      return '-';
    }
  };
  let gitDir = join(repoRoot, '.git');
  const file = read(gitDir);
  if (file.startsWith('gitdir: ')) {
    const target = file.slice(8).trim();
    gitDir = isAbsolute(target) ? target : resolve(repoRoot, target);
  }
  const common = read(join(gitDir, 'commondir')).trim();
  const commonDir = common ? resolve(gitDir, common) : gitDir;
  const head = read(join(gitDir, 'HEAD'));
  hash.update(head);
  const ref = /^ref: (\S+)/.exec(head)?.[1];
  if (ref) hash.update(`${read(join(commonDir, ref))}|${stamp(join(commonDir, 'packed-refs'))}`);
  hash.update(stamp(join(gitDir, 'index')));
  return hash.digest('hex');
}

function loadState(file: string): BoxGitState | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as BoxGitState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the box needs to match this checkout's git: undefined when git is off (`depth` 0) or HEAD is unborn. A box
 * whose state file says it is up to date gets empty parts (no git process runs here at all).
 */
export async function gitMetaFor(options: { repoRoot: string; depth: number; stateFile: string }): Promise<GitMeta | undefined> {
  const { repoRoot, depth, stateFile } = options;
  if (depth <= 0) return undefined;
  const key = quickKey(repoRoot, depth);
  const had = loadState(stateFile);
  const save = (state: BoxGitState): void => {
    mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  const drop = (): void => {
    try {
      unlinkSync(stateFile);
    } catch {
      // already gone
    }
  };
  if (had && had.key === key) {
    return { head: had.head, ref: had.ref, shallow: Buffer.alloc(0), index: Buffer.alloc(0), pack: Buffer.alloc(0), refs: Buffer.alloc(0), commit: () => undefined, drop };
  }
  const head = (await run(repoRoot, ['rev-parse', '--verify', '-q', 'HEAD']).catch(() => Buffer.alloc(0))).toString().trim();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head)) return undefined;
  const ref = (await run(repoRoot, ['symbolic-ref', '-q', 'HEAD']).catch(() => Buffer.alloc(0))).toString().trim();
  const index = await run(repoRoot, ['ls-files', '-s', '-z']);
  const indexHash = createHash('sha256').update(index).digest('hex');
  const sameHead = had?.head === head;
  // The history the box gets: up to `depth` commits from HEAD; a commit with a parent outside them is a boundary.
  let shallow: string[] = had?.shallow ?? [];
  let pack: Buffer = Buffer.alloc(0);
  let added: string[] = [];
  let commits: string[] = had?.commits ?? [];
  const refLines: string[] = [];
  // Blobs the index names (submodule commits and the never-written empty blob of `git add -N` are not objects here).
  const staged = index.toString('utf8').split('\0').filter(Boolean).map((line) => line.split(' '))
    .filter(([mode, oid]) => mode !== '160000' && oid !== EMPTY_BLOB).map(([, oid]) => oid!);
  if (!sameHead) {
    const lines = (await run(repoRoot, ['rev-list', '--parents', `--max-count=${depth}`, head])).toString().trim().split('\n');
    const inSet = new Set(lines.map((l) => l.split(' ')[0]));
    const known = new Set(had?.commits ?? []);
    added = lines.map((l) => l.split(' ')).filter(([, ...parents]) => parents.some((p) => !inSet.has(p) && !known.has(p))).map(([c]) => c!);
    commits = [...new Set([...inSet].filter((c): c is string => c !== undefined)), ...(had?.commits ?? [])].slice(0, MAX_KNOWN);
    // Objects the box lacks: reachable from HEAD within the new boundary, not from what it had within its own, plus
    // the blobs the index names (staged changes).
    const revs = [head, ...added.map((c) => `--shallow ${c}`), ...(had ? [...had.shallow.map((c) => `--shallow ${c}`)] : [])];
    // Tags on the shipped commits come along (annotated ones with their tag objects), so `git describe` finds them.
    const tags = (await run(repoRoot, ['for-each-ref', '--format=%(objectname) %(objecttype) %(*objectname) %(refname)', 'refs/tags'])).toString().split('\n').filter(Boolean);
    const tagObjects: string[] = [];
    for (const line of tags) {
      const [oid, type, peeled, name] = line.split(' ');
      const target = type === 'tag' ? peeled : oid;
      if (!oid || !name || !target || !inSet.has(target) || /\s/.test(name)) continue;
      refLines.push(`update ${name} ${oid}`);
      if (type === 'tag') tagObjects.push(oid);
    }
    if (ref) refLines.unshift(`update ${ref} ${head}`);
    const positive = [...revs, ...tagObjects, ...new Set(staged)];
    const negative = had ? ['--not', had.head] : [];
    pack = await run(repoRoot, ['pack-objects', '--revs', '--stdout', '-q'], `${[...positive, ...negative].join('\n')}\n`);
    shallow = [...new Set([...shallow, ...added])];
  } else if (had?.indexHash !== indexHash) {
    // Only the index changed: its staged blobs, unless the box has them.
    pack = await run(repoRoot, ['pack-objects', '--revs', '--stdout', '-q'], `${[...new Set(staged), '--not', head, ...had.shallow.map((c) => `--shallow ${c}`)].join('\n')}\n`);
  }
  const state: BoxGitState = { version: 1, key, head, ref, shallow, commits, indexHash };
  return {
    head,
    ref,
    shallow: Buffer.from(added.map((c) => `${c}\0`).join('')),
    index: had?.indexHash === indexHash && sameHead ? Buffer.alloc(0) : index,
    pack,
    refs: Buffer.from(refLines.map((l) => `${l}\n`).join('')),
    commit: () => save(state),
    drop,
  };
}

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { discoverTopLevel } from './toplevel.ts';

/**
 * Settings pinned on every git call. Output format: no pager, no quoting surprises. Change detection: git compares
 * every stat field it records (ctime included), so an edit that keeps size and mtime is still seen, whatever the
 * user's `core.checkStat`, `core.trustctime` or `core.ignoreStat`; no fsmonitor hook decides for it.
 */
const PINNED = ['core.quotePath=false', 'core.fsmonitor=false', 'core.checkStat=default', 'core.trustctime=true', 'core.ignoreStat=false'].flatMap((c) => ['-c', c]);

/** Runs git in `cwd` and returns its raw stdout; a failure becomes a one-line sync error. */
export function git(cwd: string, args: string[], options: { allowFail?: boolean } = {}): Promise<{ code: number; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...PINNED, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT'
        ? new CrabboxError('missing_tool', 'git is not installed or not on PATH', { hint: 'install git' })
        : new CrabboxError('sync_failed', `git ${args[0]} failed: ${error.message}`));
    });
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      if (code !== 0 && !options.allowFail) {
        const first = Buffer.concat(err).toString('utf8').trim().split('\n')[0] ?? '';
        reject(new CrabboxError('sync_failed', `git ${args[0]} failed: ${first || `exit ${code}`}`));
        return;
      }
      resolve({ code: code ?? 1, stdout });
    });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits git's `-z` output into paths; a name that is not valid UTF-8 is refused, because it could not be matched back exactly. */
export function splitNul(output: Buffer): string[] {
  const paths: string[] = [];
  let start = 0;
  for (let i = 0; i < output.length; i++) {
    if (output[i] !== 0) continue;
    if (i > start) {
      const bytes = output.subarray(start, i);
      try {
        paths.push(utf8.decode(bytes));
      } catch {
        throw new CrabboxError('sync_failed', `file name is not valid UTF-8: ${JSON.stringify(bytes.toString('latin1'))}`, {
          hint: 'rename the file, or add it to .gitignore',
        });
      }
    }
    start = i + 1;
  }
  return paths;
}

/** The top level of the git checkout that holds `cwd`, or undefined outside a checkout (found in process when it can be). */
export async function gitTopLevel(cwd: string): Promise<string | undefined> {
  const discovered = await discoverTopLevel(cwd);
  if (discovered !== 'ask-git') return discovered.found;
  const { code, stdout } = await git(cwd, ['rev-parse', '--show-toplevel'], { allowFail: true }).catch(() => ({ code: 1, stdout: Buffer.alloc(0) }));
  if (code !== 0) return undefined;
  return stdout.toString('utf8').replace(/\n$/, '');
}

/** Where git keeps this checkout's index (a linked worktree has its own; GIT_INDEX_FILE is honoured). */
export async function gitIndexPath(repoRoot: string): Promise<string> {
  const { stdout } = await git(repoRoot, ['rev-parse', '--git-path', 'index']);
  return resolve(repoRoot, stdout.toString('utf8').replace(/\n$/, ''));
}

/** An index entry as `git diff-files` reports it: the index's mode and object id. */
export interface IndexId {
  mode: string;
  oid: string;
}

/**
 * Tracked paths whose working tree may differ from the index: git compares each file's stat data with what the index
 * recorded and lists every mismatch (deleted, modified, touched, mode changed) without reading content, so the list
 * can hold files that only look changed. Submodules are left to the caller (they are never synced).
 */
export async function gitSuspects(repoRoot: string): Promise<Map<string, IndexId>> {
  const { stdout } = await git(repoRoot, ['diff-files', '-z', '--ignore-submodules=all']);
  const fields = splitNul(stdout);
  const suspects = new Map<string, IndexId>();
  // Raw format: ":<index mode> <worktree mode> <index oid> <worktree oid> <status>" NUL "<path>" NUL
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [mode = '', , oid = ''] = fields[i]!.slice(1).split(' ');
    if (!suspects.has(fields[i + 1]!)) suspects.set(fields[i + 1]!, { mode, oid });
  }
  return suspects;
}

/** Untracked paths git does not ignore; a nested repository is one entry ending in `/`. */
export async function gitUntracked(repoRoot: string): Promise<string[]> {
  const { stdout } = await git(repoRoot, ['ls-files', '-z', '--others', '--exclude-standard']);
  return splitNul(stdout);
}

/** The index as `ls-files -z -s -v` prints it: `<tag> <mode> <oid> <stage>\t<path>` NUL, in path order. */
export async function gitIndexListing(repoRoot: string): Promise<Buffer> {
  return (await git(repoRoot, ['ls-files', '-z', '-s', '-v'])).stdout;
}

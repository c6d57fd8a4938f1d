import { spawn } from 'node:child_process';
import { CrabboxError } from '../domain/errors.ts';

/** Runs git in `cwd` and returns its raw stdout; a failure becomes a one-line sync error. */
export function git(cwd: string, args: string[], options: { allowFail?: boolean } = {}): Promise<{ code: number; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    // Pin the output format: no pager, no quoting surprises, no user-configured external diff.
    const child = spawn('git', ['-c', 'core.quotePath=false', '-c', 'core.fsmonitor=false', ...args], {
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

/** The top level of the git checkout that holds `cwd`, or undefined outside a checkout. */
export async function gitTopLevel(cwd: string): Promise<string | undefined> {
  const { code, stdout } = await git(cwd, ['rev-parse', '--show-toplevel'], { allowFail: true }).catch(() => ({ code: 1, stdout: Buffer.alloc(0) }));
  if (code !== 0) return undefined;
  return stdout.toString('utf8').replace(/\n$/, '');
}

/** The commit HEAD points at, or undefined in a repository with no commits yet. */
export async function gitHead(repoRoot: string): Promise<string | undefined> {
  const { code, stdout } = await git(repoRoot, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { allowFail: true });
  return code === 0 ? stdout.toString('utf8').trim() : undefined;
}

/** HEAD and the paths that may differ from it (see gitChangedSinceHead), asked of git at the same time. */
export async function gitHeadState(repoRoot: string): Promise<{ head: string | undefined; changed: Map<string, { mode: string; blob: string }> | undefined }> {
  const changedRun = gitChangedSinceHead(repoRoot);
  changedRun.catch(() => undefined); // without a HEAD this fails, and is not asked for
  const head = await gitHead(repoRoot);
  return { head, changed: head ? await changedRun : undefined };
}

/**
 * Tracked paths (index) and untracked paths git does not ignore; tracked ones flagged. One `ls-files` run: `-t` tags
 * untracked paths `?` and index entries with another letter (H, S for skip-worktree, M for unmerged).
 */
export async function gitFiles(repoRoot: string): Promise<{ tracked: Set<string>; all: string[] }> {
  const { stdout } = await git(repoRoot, ['ls-files', '-z', '-t', '--cached', '--others', '--exclude-standard']);
  const tracked = new Set<string>();
  const others: string[] = [];
  for (const tagged of splitNul(stdout)) {
    const path = tagged.slice(2);
    if (tagged.startsWith('? ')) others.push(path);
    else tracked.add(path);
  }
  return { tracked, all: [...new Set([...tracked, ...others])] };
}

/**
 * Paths whose working tree may differ from HEAD, with HEAD's mode and blob id for each (git's stat cache can report
 * false positives; the caller compares content to tell them apart).
 */
export async function gitChangedSinceHead(repoRoot: string): Promise<Map<string, { mode: string; blob: string }>> {
  const { stdout } = await git(repoRoot, ['diff-index', '-z', '--no-renames', 'HEAD']);
  const fields = splitNul(stdout);
  const changed = new Map<string, { mode: string; blob: string }>();
  // Raw format: ":<old mode> <new mode> <old blob> <new blob> <status>" NUL "<path>" NUL
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode = '', , oldBlob = ''] = fields[i]!.slice(1).split(' ');
    changed.set(fields[i + 1]!, { mode: oldMode, blob: oldBlob });
  }
  return changed;
}

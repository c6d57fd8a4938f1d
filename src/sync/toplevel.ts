import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Environment that changes how git finds a repository; with any of it set, git itself is asked. */
const DISCOVERY_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_CEILING_DIRECTORIES', 'GIT_DISCOVERY_ACROSS_FILESYSTEM', 'GIT_COMMON_DIR'];

/** What the walk found: the checkout's top level, no checkout, or a case it leaves to git. */
export type Discovery = { found: string } | { found: undefined } | 'ask-git';

/**
 * Finds the checkout that holds `cwd` the way git's discovery does for the common cases, without a git process (one
 * spawn is ~15 ms of every run's start-up): walking up from the physical cwd, the first directory with a `.git`
 * directory (or a `gitdir:` file, for worktrees and submodules) is the top level; a directory that is itself a git
 * dir (a bare repository, or inside `.git`) has no work tree; the walk stops at a file system boundary, as git does.
 * Anything unusual (discovery env set, a `.git` or work tree owned by someone else, which git's `safe.directory` may
 * refuse, an unreadable directory) returns `ask-git`.
 */
export async function discoverTopLevel(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Discovery> {
  if (DISCOVERY_ENV.some((name) => env[name] !== undefined)) return 'ask-git';
  const uid = process.getuid?.();
  try {
    let dir = await realpath(cwd);
    const device = (await stat(dir)).dev;
    for (;;) {
      const dotGit = await lstat(join(dir, '.git')).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw error;
      });
      if (dotGit) {
        // git's safe.directory check looks at the work tree's owner too.
        if (uid !== undefined && (dotGit.uid !== uid || (await stat(dir)).uid !== uid)) return 'ask-git';
        if (dotGit.isDirectory() && (await isGitDir(join(dir, '.git')))) return { found: dir };
        if (dotGit.isFile() && (await readFile(join(dir, '.git'), 'utf8')).startsWith('gitdir: ')) return { found: dir };
        return 'ask-git';
      }
      if (await isGitDir(dir)) return { found: undefined };
      const parent = dirname(dir);
      if (parent === dir) return { found: undefined };
      if ((await stat(parent)).dev !== device) return { found: undefined };
      dir = parent;
    }
  } catch {
    return 'ask-git';
  }
}

/** git's own test for a git dir: a HEAD file and `objects` and `refs` directories. */
async function isGitDir(dir: string): Promise<boolean> {
  const [head, objects, refs] = await Promise.all(['HEAD', 'objects', 'refs'].map((name) => stat(join(dir, name)).catch(() => undefined)));
  return Boolean(head?.isFile() && objects?.isDirectory() && refs?.isDirectory());
}

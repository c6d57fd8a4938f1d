import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
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
 * refuse, an unreadable directory) returns `ask-git`. The few stats are synchronous: on the way to the box, each
 * asynchronous one waited for an event loop busy loading modules (a 16 ms wait for one `lstat` was seen).
 */
export async function discoverTopLevel(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Discovery> {
  if (DISCOVERY_ENV.some((name) => env[name] !== undefined)) return 'ask-git';
  const uid = process.getuid?.();
  try {
    let dir = realpathSync(cwd);
    const device = statSync(dir).dev;
    for (;;) {
      const dotGit = lstatOrAbsent(join(dir, '.git'));
      if (dotGit) {
        // git's safe.directory check looks at the work tree's owner too.
        if (uid !== undefined && (dotGit.uid !== uid || statSync(dir).uid !== uid)) return 'ask-git';
        if (dotGit.isDirectory() && isGitDir(join(dir, '.git'))) return { found: dir };
        if (dotGit.isFile() && readFileSync(join(dir, '.git'), 'utf8').startsWith('gitdir: ')) return { found: dir };
        return 'ask-git';
      }
      if (isGitDir(dir)) return { found: undefined };
      const parent = dirname(dir);
      if (parent === dir) return { found: undefined };
      if (statSync(parent).dev !== device) return { found: undefined };
      dir = parent;
    }
  } catch {
    return 'ask-git';
  }
}

/** git's own test for a git dir: a HEAD file and `objects` and `refs` directories. */
function isGitDir(dir: string): boolean {
  const [head, objects, refs] = ['HEAD', 'objects', 'refs'].map((name) => {
    try {
      return statSync(join(dir, name));
    } catch {
      return undefined;
    }
  });
  return Boolean(head?.isFile() && objects?.isDirectory() && refs?.isDirectory());
}

/** lstat, or undefined when nothing is there (ENOENT, or a path component that is not a directory). */
function lstatOrAbsent(path: string): ReturnType<typeof lstatSync> {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

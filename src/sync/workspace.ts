import { basename, posix } from 'node:path';
import { safeDirName } from './paths.ts';

export interface Workspace {
  /** Where the checkout lands on the box. */
  workdir: string;
  /** Crabbox's bookkeeping for that workdir (manifest, fingerprint, lock), outside the synced tree. */
  metadir: string;
}

/** The remote paths for a checkout on a lease: `<workRoot>/<lease>/<repo>` and `<workRoot>/<lease>/.crabbox/<repo>`. */
export function workspaceFor(options: { workRoot: string; leaseId: string; repoRoot: string }): Workspace {
  const repo = safeDirName(basename(options.repoRoot));
  const lease = safeDirName(options.leaseId);
  const root = posix.join(options.workRoot, lease);
  return { workdir: posix.join(root, repo), metadir: posix.join(root, '.crabbox', repo) };
}

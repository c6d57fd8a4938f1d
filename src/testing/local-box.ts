import { spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rshCommand, type BoxConnection } from '../sync/box.ts';

/**
 * A BoxConnection to this computer without sshd: commands run through `sh -c`, and rsync uses a tiny rsh shim that
 * does the same. Real rsync and the real wrapper run; only the SSH transport is left out (tests for that use sshd).
 */
export function localBox(dir: string): BoxConnection {
  const shim = join(dir, 'rsh-shim');
  // Written once per folder: rewriting it while a process is being exec'd from it fails with ETXTBSY.
  if (!existsSync(shim)) writeFileSync(shim, '#!/bin/sh\n# rsync calls: shim [-l user] host command...\nwhile [ "$1" = -l ]; do shift 2; done\nshift\nexec sh -c "$*"\n');
  chmodSync(shim, 0o755);
  return {
    exec: (command) => spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true }),
    rsync: { rsh: rshCommand([shim]), host: 'localbox' },
    local: true,
  };
}

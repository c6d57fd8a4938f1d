import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory removed after the test (node:test's `after`/`t.after`). */
export function tempDir(prefix = 'crabbox-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An isolated environment for a CLI run: its own config and state directories under `root`. */
export function isolatedEnv(root: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: root,
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_STATE_HOME: join(root, 'state'),
    LANG: 'C.UTF-8',
    // `run --id` through the real executable would leave a warm runner behind for ten minutes; the tests of the
    // runner (test/e2e/runner.test.ts) turn it on, the rest test the CLI in-process, where the runner runs it too.
    CRABBOX_RUNNER: 'off',
    ...extra,
  };
}

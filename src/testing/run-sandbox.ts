import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.ts';
import { isolatedEnv, tempDir } from './tmp.ts';
import { testBoxesRoot } from './boxes-root.ts';

/** An isolated home for end-to-end `crabbox run` tests on the local provider. */
export interface RunSandbox {
  /** The private temp folder (config, state, repos). */
  path: string;
  /** Where the local provider puts its boxes. */
  boxes: string;
  env: NodeJS.ProcessEnv;
  /** Stops every lease the sandbox still has (a failed test's leftovers), then removes its folders. */
  remove(): Promise<void>;
}

/**
 * Creates the sandbox. Boxes live in a throwaway root the local provider accepts (testBoxesRoot); `config` is
 * appended to the user config after `local.workRoot`.
 */
export function runSandbox(options: { prefix: string; config?: string }): RunSandbox {
  const tmp = tempDir(options.prefix);
  const boxesRoot = testBoxesRoot('crabbox-boxes-e2e-');
  const boxes = boxesRoot.path;
  const env = isolatedEnv(tmp.path);
  mkdirSync(join(tmp.path, 'config', 'crabbox'), { recursive: true });
  writeFileSync(join(tmp.path, 'config', 'crabbox', 'config.yaml'), `local:\n  workRoot: ${boxes}\n${options.config ?? ''}`);
  return {
    path: tmp.path,
    boxes,
    env,
    async remove() {
      // Stop whatever a failed test left, before its state (and so the way to find it) is removed.
      const r = await runCli(['list', '--json'], { env, cwd: tmp.path });
      for (const l of (JSON.parse(r.stdout) as { leases: { id: string }[] }).leases) await runCli(['stop', l.id], { env, cwd: tmp.path });
      tmp.remove();
      boxesRoot.remove();
    },
  };
}

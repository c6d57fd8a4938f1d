import { spawn } from 'node:child_process';

/**
 * Starts the warm runner for this checkout in the background (its own session, no output, not waited for), with
 * this process's entry script, environment and working directory: the runner serves only what this process would
 * have run the same way.
 */
export function spawnRunner(entry: string, cwd: string, env: NodeJS.ProcessEnv): void {
  try {
    const child = spawn(process.execPath, [entry, '__runner'], { cwd, env, detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no runner this time; the next run tries again
  }
}

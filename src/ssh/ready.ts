import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { sshCapture, waitReady } from './exec.ts';
import type { SshTarget } from './target.ts';

/** Only a plain command name runs on the box (it comes from provider capabilities or the coordinator's answer). */
const COMMAND_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface BootstrapWaitOptions {
  clock?: Clock | undefined;
  signal?: AbortSignal | undefined;
  intervalMs?: number | undefined;
  /** Called once per failed check (diagnostics). */
  log?: ((line: string) => void) | undefined;
}

/**
 * Waits until the box answers ssh and then until `readyCommand` (e.g. `crabbox-ready`) exits 0 on it, up to
 * `deadline`: a box that answers ssh but is still bootstrapping (packages, sshd drop-in, work root) is not used yet.
 * Without a ready command this is plain `waitReady`.
 */
export async function waitBootstrapped(target: SshTarget, readyCommand: string | undefined, deadline: number, options: BootstrapWaitOptions = {}): Promise<void> {
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  await waitReady(target, deadline, { clock, ...(signal ? { signal } : {}) });
  if (!readyCommand) return;
  if (!COMMAND_NAME.test(readyCommand)) throw new CrabboxError('provider_error', `refusing to run ready check ${JSON.stringify(readyCommand.slice(0, 40))}: not a plain command name`);
  let interval = options.intervalMs ?? 500;
  for (;;) {
    const result = await sshCapture(target, [readyCommand], signal ? { signal } : {});
    if (result.exitCode === 0) return;
    const said = (result.stdout + result.stderr).trim().split('\n').pop()?.slice(0, 200) ?? '';
    options.log?.(`${readyCommand} exited ${result.exitCode}${said ? `: ${said}` : ''}`);
    if (clock.now() >= deadline) {
      throw new CrabboxError('timeout', `box answers ssh but did not finish bootstrapping in time (${readyCommand} exited ${result.exitCode}${said ? `: ${said}` : ''})`, {
        hint: 'the box is deleted; if this repeats, check the provider image and the bootstrap log (/var/log/cloud-init-output.log)',
      });
    }
    await clock.sleep(Math.min(interval, Math.max(deadline - clock.now(), 0)), signal).catch(() => {
      throw new CrabboxError('interrupted', 'interrupted while waiting for the box to finish bootstrapping');
    });
    interval = Math.min(interval * 2, 5000);
  }
}

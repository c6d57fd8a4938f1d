import { isatty } from 'node:tty';
import type { Clock } from '../domain/clock.ts';
import { processInterrupts } from '../cli/interrupts.ts';
import { runViaRunner } from './client.ts';
import { ownArgs, runnerEligible } from './request.ts';

/**
 * The executable's first step for `run --id`: hand the command to this checkout's warm runner when one serves it.
 * Returns the exit code when it did; otherwise whether to start a runner once the command has run in-process.
 */
export async function tryWarmRunner(argv: string[], clock: Clock, startedAt: number): Promise<{ code: number } | { startRunner: boolean }> {
  if (!runnerEligible(argv, process.env, { stdin: isatty(0), stdout: isatty(1), stderr: isatty(2) })) return { startRunner: false };
  const outcome = await runViaRunner({ argv, env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, clock, startedAt, onSignal: processInterrupts.listen });
  if (outcome.served) return { code: outcome.code };
  if (ownArgs(argv).includes('--debug')) process.stderr.write(`debug: in-process: ${outcome.reason}${outcome.start ? '; starting a warm runner for the next run' : ''}\n`);
  return { startRunner: outcome.start };
}

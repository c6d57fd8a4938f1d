import { main } from '../cli/main.ts';
import { offsetClock } from '../cli/clock-offset.ts';
import { systemClock } from '../domain/clock.ts';
import { adoptProcessEnv } from './adopt-env.ts';
import { buildId } from './build-id.ts';
import { startRunner } from './server.ts';
import { runnerSocketPath } from './socket-path.ts';

/**
 * `crabbox __runner` (started by `run --id`, detached, no output): serves this checkout until it is idle for
 * ten minutes, a client of another build arrives, its socket is removed, or it gets SIGTERM/SIGINT. Returns the exit
 * code; 0 also when another runner already serves this checkout.
 */
export async function serveRunnerProcess(): Promise<number> {
  const env = process.env;
  const cwd = process.cwd();
  const socketPath = runnerSocketPath(env, cwd, true);
  if (!socketPath) return 0;
  const { clock = systemClock } = offsetClock(env);
  let runner;
  try {
    runner = await startRunner({
      socketPath,
      cwd,
      env: { ...env },
      build: buildId,
      clock,
      adoptEnv: adoptProcessEnv,
      // Each run on its own request's clock (CRABBOX_CLOCK_OFFSET is the client's).
      main: (io) => main({ ...io, clock: offsetClock(io.env).clock ?? systemClock }),
    });
  } catch {
    return 0; // another runner answers there (or the socket cannot be made): nothing to do
  }
  const onSignal = (): void => void runner.close();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await runner.stopped;
  return 0;
}

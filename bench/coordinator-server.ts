// A coordinator for the benchmarks, in its own process so the load generator does not share its event loop:
// real HTTP on 127.0.0.1, SQLite in a file, the provider replaced by the instant in-memory fake, stub host keys.
// Reads CRABBOX_SHARED_TOKEN and CRABBOX_BENCH_DB from the environment; prints {"url": ...} once listening.
import { systemClock } from '../src/domain/clock.ts';
import { coordinatorConfig } from '../src/coordinator/config.ts';
import { startCoordinator } from '../src/coordinator/entry/node.ts';
import { FakeProvider } from '../src/providers/fake/fake-provider.ts';

const token = process.env.CRABBOX_SHARED_TOKEN;
const database = process.env.CRABBOX_BENCH_DB;
if (!token || !database) {
  process.stderr.write('coordinator-server: CRABBOX_SHARED_TOKEN and CRABBOX_BENCH_DB must be set\n');
  process.exit(64);
}
let keys = 0;
const running = await startCoordinator({
  settings: {
    host: '127.0.0.1', port: 0, database, installation: 'bench',
    config: coordinatorConfig({ defaultProvider: 'fake', sweepIntervalSeconds: 3600, orphanSweepIntervalSeconds: 3600, auth: { sharedToken: token } }),
  },
  providers: { fake: new FakeProvider({ history: false }) },
  clock: systemClock,
  // The in-process reference: no host key work at all, so `coordinator serve` (real keys) is compared with the bare bookkeeping.
  hostKeys: async () => ({ privateKey: 'bench', publicKey: `ssh-ed25519 AAAABENCHHOSTKEY${++keys} crabbox-host` }),
});
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
const stop = (): void => void running.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { openFleetStore } from '../../storage/open.ts';
import type { FleetStore } from '../../storage/store.ts';
import { installationId } from '../installation.ts';

export { installationId };
import { createApp } from '../app.ts';
import type { CoordinatorConfig } from '../config.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { startSweepScheduler, type SweepScheduler } from '../scheduler.ts';
import { configWarnings } from '../warnings.ts';
import { nodePeerAddress } from './node-peer.ts';
import { redact, registerSecret } from '../../redact/redact.ts';
import type { ServeSettings } from '../load-config.ts';

export interface RunningCoordinator {
  url: string;
  host: string;
  port: number;
  deps: CoordinatorDeps;
  scheduler: SweepScheduler;
  /** Stops accepting, finishes in-flight requests and the running sweep, closes the store. */
  close(): Promise<void>;
}

/** Starts the coordinator on Node: SQLite or PostgreSQL store, HTTP server on host:port (0 = any free port), sweep timer. */
export async function startCoordinator(options: Omit<CoordinatorDeps, 'store' | 'config'> & { settings: ServeSettings; store?: FleetStore }): Promise<RunningCoordinator> {
  const { settings, clock } = options;
  // This process is the coordinator: its own log lines and errors hide its secrets too (the app scrubs them itself).
  registerSecret(settings.config.auth.sharedToken);
  registerSecret(settings.config.auth.sessionSecret);
  registerSecret(settings.config.sshCa?.signingKey);
  registerSecret(settings.config.sshHostCa?.signingKey);
  const warn = (message: string): void => options.logger?.warn(redact(message));
  const store = options.store ?? (await openFleetStore({ sqlitePath: settings.database, postgresUrl: settings.databaseUrl, postgresSchema: settings.databaseSchema, now: clock.now(), onWarning: warn }));
  try {
    const config: CoordinatorConfig = { ...settings.config, installation: await installationId(store, settings.installation) };
    for (const warning of configWarnings(config)) warn(warning);
    // Work that outlives the request or sweep that started it (a released lease's machine deletion, a pool machine's
    // scrub): close() waits for it before the store closes.
    const pending = new Set<Promise<unknown>>();
    const afterResponse = (work: Promise<unknown>): void => {
      const tracked = work.catch((error: unknown) => options.logger?.error('work after a response failed', { error: redact(String(error instanceof Error ? error.message : error)).slice(0, 300) }))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    };
    const deps: CoordinatorDeps = {
      store, providers: options.providers, clock, config, logger: options.logger, hostKeys: options.hostKeys, access: options.access, adminPublicKey: options.adminPublicKey,
      peerAddress: nodePeerAddress, afterResponse,
    };
    const app = createApp(deps);
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port }, () => resolve(s));
      s.once('error', reject);
    });
    const address = server.address() as AddressInfo;
    const scheduler = startSweepScheduler(deps);
    const host = address.address.includes(':') ? `[${address.address}]` : address.address;
    return {
      url: `http://${host}:${address.port}`,
      host: address.address,
      port: address.port,
      deps,
      scheduler,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        });
        await scheduler.stop();
        await Promise.all(pending);
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

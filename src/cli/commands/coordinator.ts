import type { Command } from 'commander';
import { join } from 'node:path';
import { stateDir } from '../../config/paths.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';
import type { Logger } from '../../coordinator/deps.ts';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new CrabboxError('bad_request', `--port must be 0-65535, got ${JSON.stringify(value.slice(0, 20))}`);
  return Number(value);
}

function stderrLogger(ctx: CliContext): Logger {
  const line = (level: string) => (message: string, data?: Record<string, unknown>) => ctx.info(`${level} ${message}${data ? ` ${JSON.stringify(data)}` : ''}`);
  return { info: ctx.debug ? line('info') : () => {}, warn: line('warn'), error: line('error') };
}

export function register(program: Command, ctx: CliContext): void {
  const coordinator = program.command('coordinator').description('Run the shared coordinator (HTTP API, lease lifecycle, sweeper)');
  coordinator
    .command('serve')
    .description('Serve the coordinator API until SIGTERM/SIGINT (secrets from CRABBOX_SHARED_TOKEN / CRABBOX_SESSION_SECRET or their _FILE variants)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 picks a free port and prints it', parsePort)
    .option('--db <path>', 'SQLite database file (default: <state dir>/coordinator.sqlite)')
    .option('--config <file>', 'coordinator YAML config file (or CRABBOX_COORDINATOR_CONFIG)')
    .option('--providers <names>', 'comma-separated providers to serve (or CRABBOX_COORDINATOR_PROVIDERS; default: local)')
    .action(async (opts: { host?: string; port?: number; db?: string; config?: string; providers?: string }) => {
      const [{ loadServeSettings }, { startCoordinator }, { buildProviders }, { systemClock }] = await Promise.all([
        import('../../coordinator/load-config.ts'), import('../../coordinator/entry/node.ts'), import('../../coordinator/providers.ts'), import('../../domain/clock.ts'),
      ]);
      const settings = loadServeSettings(ctx.env, { host: opts.host, port: opts.port, database: opts.db, config: opts.config });
      const names = (opts.providers ?? ctx.env.CRABBOX_COORDINATOR_PROVIDERS ?? 'local').split(',').map((s) => s.trim()).filter(Boolean);
      const providers = buildProviders(names, { env: ctx.env, stateDir: join(stateDir(ctx.env), 'coordinator') });
      if (!settings.config.defaultProvider || !providers[settings.config.defaultProvider]) settings.config.defaultProvider = names[0]!;
      if (!settings.config.auth.sharedToken && !settings.config.auth.sessionSecret) ctx.info('warning: no CRABBOX_SHARED_TOKEN or CRABBOX_SESSION_SECRET set: every route but /v1/health will answer 401');
      let running;
      try {
        running = await startCoordinator({ settings, providers, clock: ctx.clock ?? systemClock, logger: stderrLogger(ctx) });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new CrabboxError('unavailable', `cannot listen on ${settings.host}:${settings.port} (${code})`, { hint: 'pick another --port, or 0 for any free port' });
        throw error;
      }
      if (ctx.json) printJson(ctx.stdout, { url: running.url, host: running.host, port: running.port, installation: running.deps.config.installation });
      else write(ctx.stdout, `listening ${running.url}\n`);
      ctx.info(`coordinator: installation ${running.deps.config.installation}, providers ${names.join(', ')}, database ${redact(settings.database)}`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      ctx.info('coordinator: shutting down');
      await running.close();
    });
}

import type { Command } from 'commander';
import type { Whoami } from '../../api/client.ts';
import type { WhoamiJson } from '../../api/shapes.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { formatHours } from '../../domain/duration.ts';
import { plural } from '../../domain/plural.ts';
import { coordinatorClient } from '../session.ts';
import type { CliContext } from '../context.ts';
import { isoTime, printJson, write } from '../output.ts';

const VIA: Record<Whoami['via'], string> = { 'user-token': 'user token (GitHub login)', 'shared-token': 'shared operator token' };

/** A token's remaining lifetime as people say it: `in 29 days`, `in 2h`, `in 1h30m`, `in 45m`, `expired`. */
export function remaining(ms: number): string {
  if (ms <= 0) return 'expired';
  if (ms < 60_000) return 'in under a minute';
  const minutes = Math.floor(ms / 60_000);
  if (minutes >= 48 * 60) return `in ${plural(Math.floor(minutes / (24 * 60)), 'day')}`;
  return `in ${formatHours(minutes * 60)}`;
}

/** The `whoami --json` shape (src/api/shapes.ts): times are ISO 8601 like every other time the CLI prints. */
export function whoamiJson(who: Whoami, url: string): WhoamiJson {
  const { expiresAt, ...rest } = who;
  return { ...rest, ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}), coordinator: url };
}

/** Prints who the coordinator says we are: owner, org, login, role, how, expiry. */
export function showWhoami(ctx: CliContext, who: Whoami, url: string): void {
  if (ctx.json) return printJson(ctx.stdout, whoamiJson(who, url));
  const rows: [string, string | undefined][] = [
    ['coordinator', url],
    ['owner', who.owner],
    ['org', who.org],
    ['login', who.login],
    ['role', who.role],
    ['auth', VIA[who.via]],
    ['expires', who.expiresAt !== undefined ? `${isoTime(who.expiresAt)} (${remaining(who.expiresAt - ctx.clock.now())})` : undefined],
    ['access', who.access],
  ];
  write(ctx.stdout, rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(12)}${v}\n`).join(''));
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('Show who the coordinator thinks you are (owner, org, login, role, auth, expiry)')
    .option('--url <url>', 'coordinator URL (default: from config)')
    .action(async (opts: { url?: string }) => {
      const { client, config, url } = coordinatorClient(ctx, { url: opts.url });
      if (!config.coordinator?.token || url !== config.coordinator.url) throw new CrabboxError('unauthorized', `not logged in to ${url}`, { hint: 'run `crabbox login`' });
      showWhoami(ctx, await client.whoami(), url);
    });
}

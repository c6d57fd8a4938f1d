import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import type { WhoamiJson } from '../../api/shapes.ts';
import { whoami } from '../../app/whoami.ts';
import { formatHours } from '../../domain/duration.ts';
import { plural } from '../../domain/plural.ts';

const VIA: Record<WhoamiJson['via'], string> = { 'user-token': 'user token (GitHub login)', 'shared-token': 'shared operator token' };

/** A token's remaining lifetime as people say it: `in 29 days`, `in 2h`, `in 1h30m`, `in 45m`, `expired`. */
export function remaining(ms: number): string {
  if (ms <= 0) return 'expired';
  if (ms < 60_000) return 'in under a minute';
  const minutes = Math.floor(ms / 60_000);
  if (minutes >= 48 * 60) return `in ${plural(Math.floor(minutes / (24 * 60)), 'day')}`;
  return `in ${formatHours(minutes * 60)}`;
}

/** Prints who the coordinator says we are: owner, org, login, role, how, expiry. */
export function showWhoami(ctx: CliContext, who: WhoamiJson): void {
  if (ctx.json) return printJson(ctx.stdout, who);
  const expires = who.expiresAt !== undefined ? Date.parse(who.expiresAt) : undefined;
  const rows: [string, string | undefined][] = [
    ['coordinator', who.coordinator],
    ['owner', who.owner],
    ['org', who.org],
    ['login', who.login],
    ['role', who.role],
    ['auth', VIA[who.via]],
    ['expires', expires !== undefined ? `${who.expiresAt!.replace(/\.\d{3}Z$/, 'Z')} (${remaining(expires - ctx.clock.now())})` : undefined],
    ['access', who.access],
  ];
  write(ctx.stdout, rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(12)}${v}\n`).join(''));
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('Show who the coordinator thinks you are (owner, org, login, role, auth, expiry)')
    .option('--url <url>', 'coordinator URL (default: from config)')
    .action(async (opts: { url?: string }) => showWhoami(ctx, await whoami(ctx, { url: opts.url })));
}

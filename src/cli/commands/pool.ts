import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { pool } from '../../app/pool.ts';

const ms = (value: number | null): string | undefined => (value === null ? undefined : `${Math.round(value)}ms`);

export function register(program: Command, ctx: CliContext): void {
  program
    .command('pool')
    .description('The warm pools (maintainers and admins): idle, assigned and provisioning machines per pool, and the claim latency of the last hour')
    .action(async () => {
      const doc = await pool.run(appContext(ctx), {});
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.pools.length === 0) return ctx.info('no warm pools are configured on this coordinator (docs/pool.md)');
      write(ctx.stdout, renderTable(
        ['POOL', 'PROVIDER', 'CLASS', 'IDLE', 'ASSIGNED', 'PROVISIONING', 'SCRUBBING', 'MIN', 'MAX', 'CLAIMS 1H', 'P50', 'P95', 'EMPTY 1H', 'NOTE'],
        doc.pools.map((p) => [
          p.name, p.provider, p.class ?? undefined, p.machines.idle, p.machines.assigned, p.machines.provisioning, p.machines.scrubbing, p.min, p.max, p.claims.lastHour,
          ms(p.claims.p50Ms), ms(p.claims.p95Ms), p.emptyLastHour,
          p.backoffUntil ? `refill backing off until ${p.backoffUntil}` : p.blocked === 'draining' ? 'drained: no refills until `crabbox admin undrain --pool`' : p.blocked ? `cannot grow: ${p.blocked}` : p.refillFailuresLastHour ? `${p.refillFailuresLastHour} refill failures` : undefined,
        ]),
      ));
    });
}

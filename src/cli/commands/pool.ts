import type { Command } from 'commander';
import { poolListAnswer } from '../../api/answers.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write } from '../output.ts';
import { requireCoordinator } from '../session.ts';

const ms = (value: number | undefined): string | undefined => (value === undefined ? undefined : `${Math.round(value)}ms`);

export function register(program: Command, ctx: CliContext): void {
  program
    .command('pool')
    .description('The warm pools (maintainers and admins): idle, assigned and provisioning machines per pool, and the claim latency of the last hour')
    .action(async () => {
      const client = requireCoordinator(ctx, 'pool');
      let pools;
      try {
        ({ pools } = await client.request('GET', '/v1/pool', poolListAnswer));
      } catch (error) {
        if (isCrabboxError(error) && error.code === 'forbidden') {
          throw new CrabboxError('forbidden', `\`crabbox pool\` is only for coordinator maintainers and admins: ${error.message}`, { hint: 'ask an admin to add you to maintainers, or check your role with `crabbox whoami`' });
        }
        throw error;
      }
      if (ctx.json) return printJson(ctx.stdout, { pools });
      if (pools.length === 0) return ctx.info('no warm pools are configured on this coordinator (docs/pool.md)');
      write(ctx.stdout, renderTable(
        ['POOL', 'PROVIDER', 'CLASS', 'IDLE', 'ASSIGNED', 'PROVISIONING', 'SCRUBBING', 'MIN', 'MAX', 'CLAIMS 1H', 'P50', 'P95', 'EMPTY 1H', 'NOTE'],
        pools.map((p) => [
          p.name, p.provider, p.class, p.machines.idle, p.machines.assigned, p.machines.provisioning, p.machines.scrubbing, p.min, p.max, p.claims.lastHour,
          ms(p.claims.p50Ms), ms(p.claims.p95Ms), p.emptyLastHour,
          p.backoffUntil ? `refill backing off until ${p.backoffUntil}` : p.blocked ? `cannot grow: ${p.blocked}` : p.refillFailuresLastHour ? `${p.refillFailuresLastHour} refill failures` : undefined,
        ]),
      ));
    });
}

import type { Command } from 'commander';
import { usageAnswer, type UsageAnswer } from '../../api/answers.ts';
import { CrabboxError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write } from '../output.ts';
import { oneLine } from '../run-store.ts';
import { requireCoordinator } from '../session.ts';

const GROUPS = ['owner', 'org', 'provider', 'type'] as const;
type Group = (typeof GROUPS)[number];

interface Row { key: string; leases: number; hours: number; reservedCost: number; estimatedCost: number }

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Sums the coordinator's usage rows by one column. */
export function groupUsage(rows: UsageAnswer['usage'], by: Group): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const key = typeof r[by] === 'string' && r[by] !== '' ? (r[by] as string) : '-';
    const row = out.get(key) ?? { key, leases: 0, hours: 0, reservedCost: 0, estimatedCost: 0 };
    row.leases += num(r.leases);
    row.hours += num(r.seconds) / 3600;
    row.reservedCost += num(r.reservedCost);
    row.estimatedCost += num(r.estimatedCost);
    out.set(key, row);
  }
  return [...out.values()].sort((a, b) => b.estimatedCost - a.estimatedCost || a.key.localeCompare(b.key));
}

const usd = (n: number): string => `$${n.toFixed(2)}`;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('usage')
    .description('Your usage this month (or --month) by owner, org, provider or type, with the caps that apply')
    .option('--month <YYYY-MM>', 'the month (UTC); default this month')
    .option('--by <column>', `group by ${GROUPS.join(', ')}`, 'provider')
    .action(async (opts: { month?: string; by: string }) => {
      if (opts.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(opts.month)) throw new CrabboxError('bad_request', `--month ${JSON.stringify(opts.month.slice(0, 20))}: expected a month like 2026-01`);
      if (!(GROUPS as readonly string[]).includes(opts.by)) throw new CrabboxError('bad_request', `--by ${JSON.stringify(opts.by.slice(0, 20))}: expected one of ${GROUPS.join(', ')}`);
      const client = requireCoordinator(ctx, 'usage');
      const answer = await client.request('GET', `/v1/usage${opts.month ? `?month=${opts.month}` : ''}`, usageAnswer);
      const rows = groupUsage(answer.usage, opts.by as Group);
      if (ctx.json) return printJson(ctx.stdout, { month: answer.month, owner: answer.owner, by: opts.by, rows, usage: answer.usage, caps: answer.caps ?? null });
      let out = `usage for ${answer.month}${answer.owner ? ` (${oneLine(answer.owner)})` : ''}\n`;
      out += rows.length === 0
        ? 'no leases this month\n'
        : renderTable([opts.by.toUpperCase(), 'LEASES', 'HOURS', 'RESERVED', 'ESTIMATED'], rows.map((r) => [oneLine(r.key), r.leases, r.hours.toFixed(2), usd(r.reservedCost), usd(r.estimatedCost)]));
      const caps = answer.caps;
      const capLines = caps ? [
        ...Object.entries(caps.activeLeases).map(([scope, c]) => `active leases (${scope}): ${c.current} of ${c.limit}`),
        ...Object.entries(caps.monthlySpend).map(([scope, c]) => `monthly spend (${scope}): ${usd(c.current)} of ${usd(c.limit)}`),
      ] : [];
      out += capLines.length ? `caps:\n${capLines.map((l) => `  ${l}\n`).join('')}` : 'caps: none\n';
      write(ctx.stdout, out);
    });
}

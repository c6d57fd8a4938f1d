import type { Command } from 'commander';
import { usageAnswer, type UsageAnswer } from '../../api/answers.ts';
import { month } from '../../api/schemas.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
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

const OWNER = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('usage')
    .description('Your usage this month (or --month) by owner, org, provider or type, with the caps that apply; admins: --all or --owner for the team')
    .option('--month <YYYY-MM>', 'the month (UTC); default this month')
    .option('--by <column>', `group by ${GROUPS.join(', ')} (default: owner with --all, else provider)`)
    .option('--all', 'admins: everyone\'s usage (the team-wide report)')
    .option('--owner <owner>', 'admins: this owner\'s usage')
    .action(async (opts: { month?: string; by?: string; all?: boolean; owner?: string }) => {
      if (opts.month !== undefined && !month.safeParse(opts.month).success) throw new CrabboxError('bad_request', `--month ${JSON.stringify(opts.month.slice(0, 20))}: expected a month from 1970-01 on, like 2026-01`);
      const by = opts.by ?? (opts.all ? 'owner' : 'provider');
      if (!(GROUPS as readonly string[]).includes(by)) throw new CrabboxError('bad_request', `--by ${JSON.stringify(by.slice(0, 20))}: expected one of ${GROUPS.join(', ')}`);
      if (opts.owner !== undefined && !OWNER.test(opts.owner)) throw new CrabboxError('bad_request', `--owner ${JSON.stringify(opts.owner.slice(0, 40))}: expected letters, digits and . _ @ + -`);
      if (opts.all && opts.owner !== undefined) throw new CrabboxError('bad_request', '--all and --owner do not go together: --all is everyone, --owner one person');
      const team = opts.all === true || opts.owner !== undefined;
      const client = requireCoordinator(ctx, 'usage');
      const q = new URLSearchParams();
      if (opts.month) q.set('month', opts.month);
      if (opts.owner) q.set('owner', opts.owner);
      let answer: UsageAnswer;
      try {
        answer = await client.request('GET', `${team ? '/v1/admin/usage' : '/v1/usage'}${q.size ? `?${q}` : ''}`, usageAnswer);
      } catch (error) {
        if (team && isCrabboxError(error) && error.code === 'forbidden') {
          throw new CrabboxError('forbidden', `\`crabbox usage ${opts.all ? '--all' : '--owner'}\` is only for coordinator admins: ${error.message}`, { hint: 'without --all or --owner it shows your own usage' });
        }
        throw error;
      }
      const rows = groupUsage(answer.usage, by as Group);
      const owner = answer.owner ?? opts.owner ?? (opts.all ? 'everyone' : undefined);
      if (ctx.json) return printJson(ctx.stdout, { month: answer.month, owner: owner ?? null, by, rows, usage: answer.usage, caps: answer.caps ?? null });
      let out = `usage for ${answer.month}${owner ? ` (${oneLine(owner)})` : ''}\n`;
      out += rows.length === 0
        ? 'no leases this month\n'
        : renderTable([by.toUpperCase(), 'LEASES', 'HOURS', 'RESERVED', 'ESTIMATED'], rows.map((r) => [oneLine(r.key), r.leases, r.hours.toFixed(2), usd(r.reservedCost), usd(r.estimatedCost)]));
      const caps = answer.caps;
      const capLines = caps ? [
        ...Object.entries(caps.activeLeases).map(([scope, c]) => `active leases (${scope}): ${c.current} of ${c.limit}`),
        ...Object.entries(caps.monthlySpend).map(([scope, c]) => `monthly spend (${scope}): ${usd(c.current)} of ${usd(c.limit)}`),
      ] : [];
      if (!team) out += capLines.length ? `caps:\n${capLines.map((l) => `  ${l}\n`).join('')}` : 'caps: none\n';
      write(ctx.stdout, out);
    });
}

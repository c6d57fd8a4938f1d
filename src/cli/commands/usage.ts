import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { month } from '../../api/schemas.ts';
import { OWNER_PATTERN, USAGE_GROUPS, usage, type UsageGroup } from '../../app/usage.ts';
import { CrabboxError } from '../../domain/errors.ts';

const usd = (n: number): string => `$${n.toFixed(2)}`;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('usage')
    .description('Your usage this month (or --month) by owner, org, provider or type, with the caps that apply; admins: --all or --owner for the team')
    .option('--month <YYYY-MM>', 'the month (UTC); default this month')
    .option('--by <column>', `group by ${USAGE_GROUPS.join(', ')} (default: owner with --all, else provider)`)
    .option('--all', 'admins: everyone\'s usage (the team-wide report)')
    .option('--owner <owner>', 'admins: this owner\'s usage')
    .action(async (opts: { month?: string; by?: string; all?: boolean; owner?: string }) => {
      if (opts.month !== undefined && !month.safeParse(opts.month).success) throw new CrabboxError('bad_request', `--month ${JSON.stringify(opts.month.slice(0, 20))}: expected a month from 1970-01 on, like 2026-01`);
      const by = opts.by ?? (opts.all ? 'owner' : 'provider');
      if (!(USAGE_GROUPS as readonly string[]).includes(by)) throw new CrabboxError('bad_request', `--by ${JSON.stringify(by.slice(0, 20))}: expected one of ${USAGE_GROUPS.join(', ')}`);
      if (opts.owner !== undefined && !OWNER_PATTERN.test(opts.owner)) throw new CrabboxError('bad_request', `--owner ${JSON.stringify(opts.owner.slice(0, 40))}: expected letters, digits and . _ @ + -`);
      const doc = await usage.run(appContext(ctx), { month: opts.month, by: by as UsageGroup, all: opts.all, owner: opts.owner });
      if (ctx.json) return printJson(ctx.stdout, doc);
      const team = opts.all === true || opts.owner !== undefined;
      let out = `usage for ${doc.month}${doc.owner ? ` (${oneLine(doc.owner)})` : ''}\n`;
      out += doc.rows.length === 0
        ? 'no leases this month\n'
        : renderTable([doc.by.toUpperCase(), 'LEASES', 'HOURS', 'RESERVED', 'ESTIMATED'], doc.rows.map((r) => [oneLine(r.key), r.leases, r.hours.toFixed(2), usd(r.reservedCost), usd(r.estimatedCost)]));
      const caps = doc.caps;
      const capLines = caps ? [
        ...Object.entries(caps.activeLeases).map(([scope, c]) => `active leases (${scope}): ${c.current} of ${c.limit}`),
        ...Object.entries(caps.monthlySpend).map(([scope, c]) => `monthly spend (${scope}): ${usd(c.current)} of ${usd(c.limit)}`),
      ] : [];
      if (!team) out += capLines.length ? `caps:\n${capLines.map((l) => `  ${l}\n`).join('')}` : 'caps: none\n';
      write(ctx.stdout, out);
    });
}

import * as z from 'zod';
import { usageAnswer, type UsageAnswer } from '../api/answers.ts';
import { month } from '../api/schemas.ts';
import { schemaId } from '../api/schema-id.ts';
import { groupUsage, OWNER_PATTERN, USAGE_GROUPS } from './usage-groups.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { requireCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export { groupUsage, OWNER_PATTERN, USAGE_GROUPS, type UsageGroup } from './usage-groups.ts';

export const usage = useCase({
  name: 'usage',
  description: 'Your lease usage for a month on the coordinator (hours, reserved and estimated cost) grouped by owner, org, provider or type, with the caps that apply to you. Admins: all or owner for the team.',
  input: z.strictObject({
    month: month.optional().describe('YYYY-MM (UTC); default this month'),
    by: z.enum(USAGE_GROUPS).optional().describe('Group rows by this column (default: owner with all, else provider)'),
    all: z.boolean().optional().describe('Admins: everyone\'s usage'),
    owner: z.string().regex(OWNER_PATTERN).optional().describe('Admins: this owner\'s usage'),
  }),
  output: () => import('../api/shapes-team.ts').then((m) => m.usageJson),
  annotations: { title: 'Usage and caps', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    if (input.all && input.owner !== undefined) throw new CrabboxError('bad_request', '--all and --owner do not go together: --all is everyone, --owner one person');
    const by = input.by ?? (input.all ? 'owner' : 'provider');
    const team = input.all === true || input.owner !== undefined;
    const client = requireCoordinator(ctx, 'usage');
    let answer: UsageAnswer;
    try {
      answer = await client.call(team ? 'adminUsage' : 'usage', { query: { month: input.month, ...(team ? { owner: input.owner } : {}) } });
    } catch (error) {
      if (team && isCrabboxError(error) && error.code === 'forbidden') {
        throw new CrabboxError('forbidden', `\`crabbox usage ${input.all ? '--all' : '--owner'}\` is only for coordinator admins: ${error.message}`, { hint: 'without --all or --owner it shows your own usage' });
      }
      throw error;
    }
    const owner = answer.owner ?? input.owner ?? (input.all ? 'everyone' : undefined);
    return { schema: schemaId('usage'), month: answer.month, owner: owner ?? null, by, rows: groupUsage(answer.usage, by), usage: answer.usage, caps: answer.caps ?? null };
  },
});

export { usageAnswer };

import * as z from 'zod';
import { logsJson } from '../api/shapes.ts';
import { logsJson as logsDocument } from '../runs/json.ts';
import { getRemoteRun } from '../runs/remote-history.ts';
import { runRef } from './inputs.ts';
import { openRunStore } from './run-store.ts';
import { maybeCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export const logs = useCase({
  name: 'logs',
  description: 'The stored, redacted end of a run\'s combined stdout and stderr (bounded, so long output is cut at the front; `truncated` says so).',
  input: z.strictObject({ runId: runRef }),
  output: () => import('../api/shapes.ts').then((m) => m.logsJson),
  annotations: { title: 'Run output tail', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const { client } = maybeCoordinator(ctx);
    const record = client ? (await getRemoteRun(client, input.runId, true)).record : openRunStore(ctx).get(input.runId);
    return logsDocument(record);
  },
});

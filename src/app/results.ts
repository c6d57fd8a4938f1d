import * as z from 'zod';
import { resultsJson } from '../api/shapes.ts';
import { resultsJson as resultsDocument } from '../runs/json.ts';
import { getRemoteRun } from '../runs/remote-history.ts';
import { runRef } from './inputs.ts';
import { openRunStore } from './run-store.ts';
import { maybeCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export const results = useCase({
  name: 'results',
  description: 'The JUnit summary of a run: counts, and each failed case with its suite, name, file, line and message (null when the run collected no JUnit reports).',
  input: z.strictObject({ runId: runRef }),
  output: () => import('../api/shapes.ts').then((m) => m.resultsJson),
  annotations: { title: 'Test results of a run', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const { client } = maybeCoordinator(ctx);
    const record = client ? (await getRemoteRun(client, input.runId, false)).record : openRunStore(ctx).get(input.runId);
    return resultsDocument(record);
  },
});

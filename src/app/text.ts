import type { RunResultJson } from '../api/shapes.ts';
import { formatSummaryLine as summaryOf } from '../run/summary.ts';

/**
 * Text renderings every face shows the same way (the CLI on stderr, the MCP server as a tool result's text).
 */

/** The one-line timing summary of a run: `sync=skipped command=1.23s total=1.40s exit=0 run=run_… lease=…`. */
export function formatSummaryLine(result: RunResultJson): string {
  return summaryOf({
    timings: result.timings,
    syncSkipped: result.syncSkipped,
    exitCode: result.exitCode,
    syncState: result.sync?.state,
    runId: result.runId ?? undefined,
    slug: result.lease?.slug,
    interrupted: result.interrupted ?? undefined,
  });
}

import type { Command } from 'commander';
import type { JUnitFailedCase, JUnitSummary } from '../../results/junit.ts';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { oneLine, openRunStore } from '../run-store.ts';
import { maybeCoordinator } from '../session.ts';
import { getRemoteRun } from '../../runs/remote-history.ts';
import { resultsJson } from '../../runs/json.ts';

function describeCase(f: JUnitFailedCase): string {
  const where = [f.classname, f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : undefined].filter(Boolean).join(' ');
  const head = `${f.kind === 'failure' ? 'FAIL' : 'ERROR'} ${oneLine(f.suite ? `${f.suite} › ${f.name}` : f.name, 200)}${where ? ` (${oneLine(where, 200)})` : ''}`;
  return f.message ? `${head}\n  ${oneLine(f.message, 300)}\n` : `${head}\n`;
}

/** The human form of a JUnit summary: counts, failed cases, warnings. */
export function renderJUnit(j: JUnitSummary): string {
  let out = `tests=${j.tests} passed=${j.passed} failures=${j.failures} errors=${j.errors} skipped=${j.skipped} time=${j.time.toFixed(2)}s files=${j.files.length}\n`;
  if (j.failed.length > 0) out += `\n${j.failed.map(describeCase).join('')}`;
  if (j.failedOmitted > 0) out += `… and ${j.failedOmitted} more failed cases not listed\n`;
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('results')
    .description('Show the JUnit summary and failed cases of a run')
    .argument('<run-id>', 'the run (run_ + 12 hex), see `crabbox history`')
    .action(async (runId: string) => {
      const { client } = maybeCoordinator(ctx);
      const record = client ? (await getRemoteRun(client, runId, false)).record : openRunStore(ctx).get(runId);
      if (ctx.json) return printJson(ctx.stdout, resultsJson(record));
      if (!record.junit) {
        ctx.info(`run ${record.id} has no JUnit results (pass --junit <paths> or set run.junit in config)`);
        return;
      }
      write(ctx.stdout, renderJUnit(record.junit));
      for (const warning of record.junit.warnings) ctx.info(`warning: ${oneLine(warning, 300)}`);
    });
}

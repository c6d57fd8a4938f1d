import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import type { JUnitSummaryShape } from '../../api/shapes.ts';
import { results } from '../../app/results.ts';

type FailedCase = JUnitSummaryShape['failed'][number];

function describeCase(f: FailedCase): string {
  const where = [f.classname, f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : undefined].filter(Boolean).join(' ');
  const head = `${f.kind === 'failure' ? 'FAIL' : 'ERROR'} ${oneLine(f.suite ? `${f.suite} › ${f.name}` : f.name, 200)}${where ? ` (${oneLine(where, 200)})` : ''}`;
  return f.message ? `${head}\n  ${oneLine(f.message, 300)}\n` : `${head}\n`;
}

/** The human form of a JUnit summary: counts, failed cases, warnings. */
export function renderJUnit(j: JUnitSummaryShape): string {
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
      const doc = await results.run(appContext(ctx), { runId });
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (!doc.junit) return ctx.info(`run ${doc.runId} has no JUnit results (pass --junit <paths> or set run.junit in config)`);
      write(ctx.stdout, renderJUnit(doc.junit));
      for (const warning of doc.junit.warnings) ctx.info(`warning: ${oneLine(warning, 300)}`);
    });
}

import type { Context } from 'hono';
import { artifactsSummary, normalizeJunit, type JUnitSummaryShape } from '../../api/shapes.ts';
import { STORED_RUN_STATES } from '../../storage/ports/runs.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { getOwnRun, listOwnRuns, ownRunLogs } from '../../coordinator/routes/runs.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { ansiToHtml } from '../ansi.ts';
import { contentHash } from '../assets/index.ts';
import { ask } from '../call.ts';
import { duration, utc } from '../format.ts';
import { html, type Html } from '../html.ts';
import { page } from '../views/layout.ts';
import { badge, empty, pager, runDuration, runTable, type RunItem } from '../views/parts.ts';
import { fragment, notModified } from './live.ts';

/** A run (command, phases, JUnit failures, the redacted log tail in colour) and the list of runs. */

const PHASES = ['lease', 'wait', 'sync', 'command', 'release'];

function phases(timings: Record<string, number> | undefined): Html {
  const known = PHASES.filter((p) => timings?.[p] !== undefined);
  if (!timings || known.length === 0) return empty('No phase timings were recorded for this run.');
  const total = timings.total ?? known.reduce((sum, p) => sum + timings[p]!, 0);
  return html`<div class="phases" id="phases">${known.map((p) => html`<span id="phase-${p}">${p}</span><meter min="0" max="${Math.max(total, 1)}" value="${timings[p]}" aria-labelledby="phase-${p}"></meter><span class="num">${duration(timings[p]!)}</span>`)}
<strong>total</strong><span></span><strong class="num">${duration(total)}</strong></div>`;
}

function junit(j: JUnitSummaryShape | undefined): Html {
  if (!j) return empty(html`No JUnit results. Pass <code>--junit path/to/report.xml</code> to <code>crabbox run</code> to see test failures here.`);
  const failed = j.failures + j.errors;
  return html`<p id="junit-totals">${j.tests} tests: ${j.passed} passed, ${j.failures} failed, ${j.errors} errors, ${j.skipped} skipped${j.time ? ` (${duration(j.time * 1000)})` : ''}.</p>
${failed > 0 ? html`<ol class="failures" id="failures">${j.failed.map((f) => html`<li>
<span class="badge st-failed">${f.kind}</span> <strong>${f.suite ? `${f.suite} › ` : ''}${f.name}</strong>${f.file ? html` <span class="muted">${f.file}${f.line !== undefined ? `:${f.line}` : ''}</span>` : ''}
${f.message ? html`<span class="msg">${f.message}</span>` : ''}
${f.detail ? html`<details><summary>Details</summary><pre>${f.detail}</pre></details>` : ''}
</li>`)}</ol>${j.failedOmitted ? html`<p class="muted">${j.failedOmitted} more failures not listed.</p>` : ''}` : ''}
${j.warnings.length ? html`<ul class="muted">${j.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}`;
}

/** What the run brought back from the box: the files the CLI wrote under the checkout (docs/artifacts.md). */
function artifacts(value: unknown): Html {
  const a = value === undefined ? undefined : artifactsSummary.safeParse(value).data;
  if (!a) return empty(html`Nothing was brought back. Pass <code>--download 'coverage/**'</code> to <code>crabbox run</code> (or set <code>artifacts:</code> in the repo config) to copy files from the box.`);
  return html`<p id="artifacts-totals">${a.files} file${a.files === 1 ? '' : 's'} (${a.bytes} bytes) in <code>${a.dir}</code> on the machine that ran crabbox${a.skipped ? `; ${a.skipped} symlinks or special files skipped` : ''}.</p>
${a.error ? html`<p class="msg">${a.error}</p>` : ''}
${a.paths.length ? html`<ul class="artifacts" id="artifacts">${a.paths.map((p) => html`<li><code>${p}</code></li>`)}</ul>` : ''}
${a.omitted ? html`<p class="muted">${a.omitted} more not listed.</p>` : ''}`;
}

function exit(run: RunItem): Html {
  if (run.exitCode === undefined) return html`-`;
  const whose = run.source === 'crabbox' ? (run.interrupted ? `interrupted by ${run.interrupted}` : 'a crabbox failure') : "the command's";
  return html`<span id="exit-code">${run.exitCode}</span> <span class="muted">(${whose})</span>`;
}

function details(c: Context<AppEnv>, run: RunItem, log: { logTail: string; truncated: boolean }): Html {
  const now = c.var.deps.clock.now();
  const recording = c.var.deps.config.recordCommand;
  const running = run.state === 'running';
  return html`${running ? '' : html`<span data-live-end hidden></span>`}
<dl class="facts card">
<dt>State</dt><dd>${badge(run.state)}</dd>
<dt>Lease</dt><dd><a href="/leases/${run.leaseId}">${run.slug || run.leaseId}</a>${run.provider ? html` <span class="muted">on ${run.provider}</span>` : ''}</dd>
<dt>Exit code</dt><dd>${exit(run)}</dd>
<dt>Started</dt><dd>${utc(Date.parse(String(run.createdAt)), true)}</dd>
<dt>Duration</dt><dd>${runDuration(run, now)}</dd>
${run.syncSkipped ? html`<dt>Sync</dt><dd>skipped (nothing changed)</dd>` : ''}
</dl>
<h2>Command</h2>
${run.command !== undefined ? html`<pre class="command" id="command">${run.command}</pre>` : empty(recording ? 'The CLI did not send its command for this run.' : 'Not recorded: this coordinator keeps no commands (recordCommand is off).')}
<h2>Phases</h2>
${phases(run.timings)}
<h2>Tests</h2>
${junit(normalizeJunit(run.junit))}
<h2>Files brought back</h2>
${artifacts(run.artifacts)}
<h2>Log tail</h2>
${running ? empty('The log tail arrives when the run finishes.')
    : log.logTail === '' ? empty('No output was recorded for this run.')
      : html`${log.truncated ? html`<p class="muted">Only the end of the output was kept; earlier output was cut.</p>` : ''}<pre class="log" id="log" tabindex="0" aria-label="Log tail">${ansiToHtml(log.logTail)}</pre>`}`;
}

const etagOf = (run: RunItem): string => `W/"${contentHash(JSON.stringify([run.id, run.state, run.endedAt, run.exitCode]))}"`;

async function load(c: Context<AppEnv>): Promise<{ run: RunItem; log: { logTail: string; truncated: boolean } }> {
  const { run } = await ask(getOwnRun, c);
  const log = run.state === 'running' ? { logTail: '', truncated: false } : await ask(ownRunLogs, c);
  return { run, log };
}

export async function runPage(c: Context<AppEnv>): Promise<Response> {
  const { run, log } = await load(c);
  return c.html(page(c, {
    title: `Run ${run.id}`, section: 'runs',
    body: html`<h1>Run <span class="muted">${run.id}</span></h1>
<div id="run" data-live="/live/runs/${run.id}" data-etag="${etagOf(run)}" aria-live="polite">${details(c, run, log)}</div>`,
  }));
}

export async function runFragment(c: Context<AppEnv>): Promise<Response> {
  const { run, log } = await load(c);
  const etag = etagOf(run);
  if (notModified(c, etag)) return c.body(null, 304, { ETag: etag });
  return fragment(c, etag, details(c, run, log));
}

/** Every run of the signed-in person, newest first, 50 a page, by state. */
export async function runsPage(c: Context<AppEnv>): Promise<Response> {
  const state = c.req.query('state') || undefined;
  if (state !== undefined && !(STORED_RUN_STATES as readonly string[]).includes(state)) throw new CrabboxError('bad_request', `state ${JSON.stringify(state.slice(0, 20))}: expected one of ${STORED_RUN_STATES.join(', ')}`);
  const cursor = c.req.query('cursor') || undefined;
  const { runs, nextCursor } = await ask(listOwnRuns, c, { state: state as RunItem['state'] | undefined, cursor, limit: 50 });
  const now = c.var.deps.clock.now();
  const base = new URLSearchParams(state ? { state } : {});
  return c.html(page(c, {
    title: 'Runs', section: 'runs',
    body: html`<h1>Runs</h1>
<form class="filters" method="get" action="/runs"><label>State<select name="state"><option value="">any</option>${STORED_RUN_STATES.map((s) => html`<option${s === state ? html` selected` : ''}>${s}</option>`)}</select></label><button type="submit">Show</button></form>
${runs.length ? runTable(runs, now) : empty(state ? `No ${state} runs.` : html`No runs yet. <code>crabbox run -- &lt;command&gt;</code> records each run here.`)}
${pager(base, '/runs', nextCursor, cursor !== undefined)}`,
  }));
}

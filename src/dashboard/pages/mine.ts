import type { Context } from 'hono';
import type { AppEnv } from '../../coordinator/env.ts';
import { listOwnLeases, releaseLoadedLease } from '../../coordinator/routes/leases.ts';
import { listOwnRuns } from '../../coordinator/routes/runs.ts';
import { contentHash } from '../assets/index.ts';
import { ask } from '../call.ts';
import { html, type Html } from '../html.ts';
import { page } from '../views/layout.ts';
import { empty, leaseTable, runTable, type LeaseItem, type RunItem } from '../views/parts.ts';
import { fragment, notModified } from './live.ts';

/** Mine: the signed-in person's live leases (with release) and recent runs, updated live. */

interface Mine {
  leases: LeaseItem[];
  runs: RunItem[];
}

async function load(c: Context<AppEnv>): Promise<Mine> {
  const [leases, runs] = [await ask(listOwnLeases, c, { state: 'live', limit: 100 }), await ask(listOwnRuns, c, { limit: 10 })];
  return { leases: leases.leases, runs: runs.runs };
}

/** Changes when anything the fragment shows changes (not when time passes: the browser counts that). */
const etagOf = (m: Mine): string =>
  `W/"${contentHash(JSON.stringify([m.leases.map((l) => [l.id, l.state, l.expiresAt, l.class, l.type]), m.runs.map((r) => [r.id, r.state, r.exitCode, r.endedAt])]))}"`;

function body(c: Context<AppEnv>, m: Mine): Html {
  const now = c.var.deps.clock.now();
  return html`<section aria-labelledby="leases-h">
<h2 id="leases-h">Live leases <span class="muted">(${m.leases.length})</span></h2>
${m.leases.length
    ? leaseTable(c, m.leases, now, { release: true })
    : empty(html`<p id="no-leases">No live leases. Lease a box with <code>crabbox warmup</code>, or run a command on a fresh one with <code>crabbox run -- npm test</code>; it shows up here while it lives.</p>`)}
</section>
<section aria-labelledby="runs-h">
<h2 id="runs-h">Recent runs</h2>
${m.runs.length
    ? html`${runTable(m.runs, now)}<p><a href="/runs">All runs</a></p>`
    : empty(html`<p id="no-runs">No runs yet. <code>crabbox run -- &lt;command&gt;</code> records each run here: its state, exit code, timings and test failures.</p>`)}
</section>`;
}

export async function minePage(c: Context<AppEnv>): Promise<Response> {
  const m = await load(c);
  const released = c.req.query('released');
  return c.html(page(c, {
    title: 'Mine', section: 'mine',
    body: html`<h1>Your boxes</h1>
${released && /^[a-z0-9-]{1,64}$/.test(released) ? html`<p class="notice ok" role="status" id="notice">Released ${released}.</p>` : ''}
<div id="mine" data-live="/live/mine" data-etag="${etagOf(m)}" aria-live="polite">${body(c, m)}</div>`,
  }));
}

export async function mineFragment(c: Context<AppEnv>): Promise<Response> {
  const m = await load(c);
  const etag = etagOf(m);
  if (notModified(c, etag)) return c.body(null, 304, { ETag: etag });
  return fragment(c, etag, body(c, m));
}

/** The release button: loadLease() found the lease, the API's release handler ends it. */
export async function releaseAction(c: Context<AppEnv>): Promise<Response> {
  const { lease } = await ask(releaseLoadedLease, c);
  return c.redirect(`/?released=${encodeURIComponent(lease.slug)}`, 303);
}

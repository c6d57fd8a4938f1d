import type { Context } from 'hono';
import type { AppEnv } from '../../coordinator/env.ts';
import { leaseView } from '../../coordinator/leases.ts';
import { listOwnRuns } from '../../coordinator/routes/runs.ts';
import { leaseTimeline } from '../../coordinator/timeline.ts';
import type { FleetEvent } from '../../storage/store.ts';
import { ask } from '../call.ts';
import { duration, money, utc } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, page } from '../views/layout.ts';
import { badge, deadline, empty, runningCost, runTable } from '../views/parts.ts';

/** One lease (found by loadLease(), so someone else's is a 404): what it is, its runs, and its timeline to the machine's deletion. */

/** The facts of an event worth a line: its data, without what the other columns already say. */
export function eventFacts(e: FleetEvent): string {
  if (!e.data) return '';
  return Object.entries(e.data).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ').slice(0, 300);
}

function timeline(events: FleetEvent[], createdAt: number): Html {
  if (events.length === 0) return empty('No events recorded for this lease (they may have been pruned after the retention period).');
  return html`<ol class="timeline" id="timeline">${events.map((e) => html`<li data-type="${e.type}">
<strong>${e.type}</strong> <span class="muted">${utc(e.at, true)} · +${duration(Math.max(0, e.at - createdAt))} · by ${e.actor}</span>
${e.runId ? html` <a href="/runs/${e.runId}">${e.runId}</a>` : ''}${e.machineId ? html` <span class="muted">${e.machineId}</span>` : ''}
${eventFacts(e) ? html`<br><code>${eventFacts(e)}</code>` : ''}
</li>`)}</ol>`;
}

export async function leasePage(c: Context<AppEnv>): Promise<Response> {
  const lease = c.var.lease;
  const view = leaseView(lease);
  const now = c.var.deps.clock.now();
  const live = lease.state === 'active' || lease.state === 'provisioning';
  const events = await leaseTimeline(c.var.deps.store, lease);
  const runs = lease.owner === c.var.identity.owner ? (await ask(listOwnRuns, c, { leaseId: lease.id, limit: 20 })).runs : [];
  return c.html(page(c, {
    title: `Lease ${lease.slug}`, section: 'mine',
    body: html`<h1>Lease ${lease.slug} <span class="muted">${lease.id}</span></h1>
<dl class="facts card">
<dt>State</dt><dd>${badge(lease.state)}${lease.endReason ? html` <span class="muted">(${lease.endReason})</span>` : ''}</dd>
<dt>Owner</dt><dd>${lease.owner} <span class="muted">(${lease.org})</span></dd>
<dt>Provider</dt><dd>${lease.provider}${view.type ? html` <span class="muted">${view.type}</span>` : ''}${lease.class ? html` · class ${lease.class}` : ''}</dd>
<dt>Created</dt><dd>${utc(lease.createdAt, true)}</dd>
<dt>${live ? 'Expires' : 'Ended'}</dt><dd>${live ? html`${deadline(lease.expiresAt, now)} <span class="muted">(TTL ${duration(lease.ttlSeconds * 1000)}, idle ${duration(lease.idleTimeoutSeconds * 1000)})</span>` : lease.endedAt !== undefined ? utc(lease.endedAt, true) : '-'}</dd>
<dt>Cost</dt><dd>${live ? runningCost(lease.hourlyPrice, lease.createdAt, now) : money(lease.hourlyPrice * Math.max(0, (lease.endedAt ?? now) - lease.createdAt) / 3_600_000)} <span class="muted">at ${money(lease.hourlyPrice)}/h, at most ${money(lease.reservedCost)}</span></dd>
${lease.machineId ? html`<dt>Machine</dt><dd>${lease.machineId}</dd>` : ''}
</dl>
${live ? html`<form method="post" action="/leases/${lease.id}/release">${csrfField(c)}<button type="submit" class="btn btn-danger" id="release">Release ${lease.slug}</button></form>` : ''}
${runs.length ? html`<h2>Runs on this lease</h2>${runTable(runs, now)}` : ''}
<h2>Timeline</h2>
${timeline(events, lease.createdAt)}`,
  }));
}

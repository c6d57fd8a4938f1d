import type { Context } from 'hono';
import { eventType } from '../../api/schemas.ts';
import { EVENT_TYPES } from '../../coordinator/audit.ts';
import { hasRole } from '../../coordinator/auth/identity.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { findLease } from '../../coordinator/middleware/load-lease.ts';
import { adminEventList } from '../../coordinator/routes/admin.ts';
import { ownEvents } from '../../coordinator/routes/events.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { ask } from '../call.ts';
import { utc } from '../format.ts';
import { html } from '../html.ts';
import { page } from '../views/layout.ts';
import { cell, empty, pager } from '../views/parts.ts';
import { eventFacts } from './lease.ts';

/** Audit: the signed-in person's events (admins: everyone's), filtered by type, owner, lease and day. */

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` field as the start of that UTC day (`until` is inclusive, so it becomes the next day's start). */
function dayBound(name: 'from' | 'to', value: string | undefined): string | undefined {
  if (!value) return undefined;
  const at = DAY.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(at)) throw new CrabboxError('bad_request', `${name} ${JSON.stringify(value.slice(0, 20))}: expected a day like 2026-01-15`);
  return new Date(name === 'to' ? at + 86_400_000 : at).toISOString();
}

export async function auditPage(c: Context<AppEnv>): Promise<Response> {
  const admin = hasRole(c.var.identity, 'admin');
  const q = c.req.query();
  const type = q.type || undefined;
  if (type !== undefined && !eventType.safeParse(type).success) throw new CrabboxError('bad_request', `type ${JSON.stringify(type.slice(0, 40))}: expected an event type like lease.created`);
  const owner = admin ? q.owner || undefined : undefined;
  const leaseRef = q.lease || undefined;
  const leaseId = leaseRef === undefined ? undefined : (await findLease(c, leaseRef)).id;
  const since = dayBound('from', q.from);
  const until = dayBound('to', q.to);
  const cursor = q.cursor || undefined;
  const query = { type, leaseId, since, until, cursor, limit: 100 };
  const { events, nextCursor } = admin ? await ask(adminEventList, c, { ...query, owner }) : await ask(ownEvents, c, query);
  const base = new URLSearchParams(Object.entries({ type, owner, lease: leaseRef, from: q.from, to: q.to }).filter((e): e is [string, string] => !!e[1]));
  return c.html(page(c, {
    title: 'Audit', section: 'audit',
    body: html`<h1>Audit</h1>
<p class="muted">${admin ? 'Every event on this coordinator' : 'Your events'}, newest first. Open a lease for its whole timeline.</p>
<form class="filters" method="get" action="/audit">
<label>Type<input name="type" list="event-types" value="${type ?? ''}" placeholder="any" size="16"></label>
<datalist id="event-types">${EVENT_TYPES.map((t) => html`<option value="${t}"></option>`)}</datalist>
${admin ? html`<label>Owner<input name="owner" value="${owner ?? ''}" placeholder="anyone" size="14"></label>` : ''}
<label>Lease<input name="lease" value="${leaseRef ?? ''}" placeholder="id or slug" size="16"></label>
<label>From<input type="date" name="from" value="${q.from ?? ''}"></label>
<label>To<input type="date" name="to" value="${q.to ?? ''}"></label>
<button type="submit">Filter</button> <a href="/audit">Clear</a>
</form>
${events.length ? html`<table class="stack events">
<thead><tr><th scope="col">When</th><th scope="col">Type</th><th scope="col">Actor</th>${admin ? html`<th scope="col">Owner</th>` : ''}<th scope="col">Lease</th><th scope="col">Details</th></tr></thead>
<tbody>${events.map((e) => {
    const facts = eventFacts({ ...e, at: 0 } as Parameters<typeof eventFacts>[0]);
    return html`<tr data-type="${e.type}">
${cell('When', utc(Date.parse(String(e.at)), true))}
${cell('Type', html`<strong>${e.type}</strong>`)}
${cell('Actor', e.actor)}
${admin ? cell('Owner', e.owner ?? '-') : ''}
${cell('Lease', e.leaseId ? html`<a href="/leases/${e.leaseId}">${e.leaseId}</a>` : '-')}
${cell('Details', html`${e.runId ? html`<a href="/runs/${e.runId}">${e.runId}</a> ` : ''}${e.machineId ? html`<span class="muted">${e.machineId}</span> ` : ''}${facts ? html`<code>${facts}</code>` : ''}`)}
</tr>`;
  })}</tbody></table>` : empty(base.size ? 'No events match these filters.' : 'No events yet. Leasing a box, running a command or signing in records one.')}
${pager(base, '/audit', nextCursor, cursor !== undefined)}`,
  }));
}

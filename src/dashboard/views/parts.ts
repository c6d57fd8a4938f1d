import type { Context } from 'hono';
import type { AnswerInput } from '../../api/endpoints.ts';
import type { ENDPOINTS } from '../../api/endpoints.ts';
import { normalizeJunit } from '../../api/shapes.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { ago, costSoFar, countdown, duration, money, utc } from '../format.ts';
import { html, type Child, type Html } from '../html.ts';
import { csrfField } from './layout.ts';

/** Pieces several pages share: state badges, empty states, lease and run rows. */

export type LeaseItem = AnswerInput<typeof ENDPOINTS.listLeases>['leases'][number];
export type RunItem = AnswerInput<typeof ENDPOINTS.listRuns>['runs'][number];

const iso = (value: string | number): number => (typeof value === 'number' ? value : Date.parse(value));

export const badge = (state: string): Html => html`<span class="badge st-${state}">${state}</span>`;

/** What to show when a list is empty, and what to do about it. */
export const empty = (what: Child): Html => html`<div class="empty">${what}</div>`;

/** A table cell that stacks as "label: value" on a phone (table.stack). */
export const cell = (label: string, content: Child, num = false): Html => html`<td data-label="${label}"${num ? html` class="num"` : ''}><span class="v">${content}</span></td>`;

/** A deadline that counts down in the browser (seconds left at render), readable without script too. */
export function deadline(at: number, now: number): Html {
  return html`<time datetime="${new Date(at).toISOString()}" title="${utc(at)}" data-left="${Math.max(0, Math.round((at - now) / 1000))}">${countdown(at - now)}</time>`;
}

/** A live lease's cost so far, moving in the browser at its hourly price. */
export function runningCost(hourlyPrice: number, createdAt: number, now: number): Html {
  const cost = costSoFar(hourlyPrice, createdAt, now);
  return html`<span data-cost="${cost.toFixed(6)}" data-rate="${(hourlyPrice / 3600).toFixed(8)}">${money(cost)}</span>`;
}

const live = (state: string): boolean => state === 'active' || state === 'provisioning';

/** The leases table (Mine, Pool): with `release`, a release button on each live lease; with `owner`, an owner column. */
export function leaseTable(c: Context<AppEnv>, leases: LeaseItem[], now: number, options: { release?: boolean; owner?: boolean } = {}): Html {
  return html`<table class="stack leases">
<thead><tr><th scope="col">Lease</th>${options.owner ? html`<th scope="col">Owner</th>` : ''}<th scope="col">State</th><th scope="col">Class</th><th scope="col">Provider</th><th scope="col">Expires</th><th scope="col" class="num">Cost so far</th>${options.release ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ''}</tr></thead>
<tbody>${leases.map((l) => {
    const created = iso(l.createdAt);
    const expires = iso(l.expiresAt);
    const ended = l.endedAt !== undefined ? iso(l.endedAt) : undefined;
    const price = l.hourlyPrice ?? 0;
    const cost = live(l.state) ? runningCost(price, created, now) : money(costSoFar(price, created, ended ?? now));
    return html`<tr data-lease="${l.id}">
${cell('Lease', html`<a class="nowrap" href="/leases/${l.id}"><strong>${l.slug}</strong></a> <span class="muted">${l.id}</span>`)}
${options.owner ? cell('Owner', l.owner) : ''}
${cell('State', badge(l.state))}
${cell('Class', html`${l.class ?? '-'}${l.type ? html` <span class="muted">${l.type}</span>` : ''}`)}
${cell('Provider', l.provider)}
${cell('Expires', live(l.state) ? deadline(expires, now) : ended !== undefined ? html`ended ${ago(ended, now)}` : '-')}
${cell('Cost so far', cost, true)}
${options.release ? cell('Actions', live(l.state) ? html`<form method="post" action="/leases/${l.id}/release" class="inline">${csrfField(c)}<button type="submit" class="btn btn-danger" aria-label="Release lease ${l.slug}">Release</button></form>` : '') : ''}
</tr>`;
  })}</tbody>
</table>`;
}

/** The phases of a run in one line: `sync 0.4 s · command 12 s`. */
export function timingsLine(timings: Record<string, number> | undefined): string {
  if (!timings) return '-';
  const order = ['lease', 'wait', 'sync', 'command', 'release'];
  const parts = order.filter((k) => timings[k] !== undefined).map((k) => `${k} ${duration(timings[k]!)}`);
  return parts.length ? parts.join(' · ') : '-';
}

export function runDuration(run: RunItem, now: number): Html {
  const created = iso(run.createdAt);
  if (run.endedAt !== undefined) return html`${duration(iso(run.endedAt) - created)}`;
  return html`running for <span data-up="${Math.max(0, Math.round((now - created) / 1000))}">${duration(now - created)}</span>`;
}

export function junitCounts(run: RunItem): Child {
  const j = normalizeJunit(run.junit);
  if (!j) return '-';
  const failed = j.failures + j.errors;
  return failed > 0 ? html`<span class="st-failed">${failed} failed</span> of ${j.tests}` : `${j.tests} passed`;
}

/** The runs table (Mine, Runs). */
export function runTable(runs: RunItem[], now: number): Html {
  return html`<table class="stack runs">
<thead><tr><th scope="col">Run</th><th scope="col">Lease</th><th scope="col">State</th><th scope="col" class="num">Exit</th><th scope="col">Duration</th><th scope="col">Timings</th><th scope="col">Tests</th><th scope="col">Started</th></tr></thead>
<tbody>${runs.map((r) => html`<tr data-run="${r.id}">
${cell('Run', html`<a href="/runs/${r.id}">${r.id}</a>`)}
${cell('Lease', html`<a class="nowrap" href="/leases/${r.leaseId}">${r.slug || r.leaseId}</a>`)}
${cell('State', badge(r.state))}
${cell('Exit', r.exitCode ?? '-', true)}
${cell('Duration', runDuration(r, now))}
${cell('Timings', timingsLine(r.timings))}
${cell('Tests', junitCounts(r))}
${cell('Started', html`<span title="${utc(iso(r.createdAt))}">${ago(iso(r.createdAt), now)}</span>`)}
</tr>`)}</tbody>
</table>`;
}

/** "Older" / "Newest" links for a keyset-paged list; `base` keeps the page's other query values. */
export function pager(base: URLSearchParams, path: string, nextCursor: string | undefined, hasCursor: boolean): Html {
  if (!nextCursor && !hasCursor) return html``;
  const first = new URLSearchParams(base);
  first.delete('cursor');
  const older = new URLSearchParams(base);
  if (nextCursor) older.set('cursor', nextCursor);
  const q = (p: URLSearchParams) => (p.size ? `${path}?${p}` : path);
  return html`<nav class="pager" aria-label="Pages">${hasCursor ? html`<a href="${q(first)}">Newest</a>` : ''}${nextCursor ? html`<a href="${q(older)}" rel="next">Older</a>` : ''}</nav>`;
}

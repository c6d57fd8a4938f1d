import type { Context } from 'hono';
import { MACHINE_STATES } from '../../domain/machine.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { machineId } from '../../api/schemas.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { param } from '../../coordinator/validate.ts';
import { adminMachineDrainOne, adminMachineList, adminMachineOne, adminMachineUndrainOne } from '../../coordinator/routes/admin.ts';
import { ask } from '../call.ts';
import { duration } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, page } from '../views/layout.ts';
import { badge, cell, empty, pager } from '../views/parts.ts';

/** Machines (admins, behind requireRole): every machine apart from its lease, drain with a confirmation step, undrain. */

type Machine = Awaited<ReturnType<typeof adminMachineList>>['machines'][number];

const FILTERS = ['live', 'all', ...MACHINE_STATES] as const;
const drainable = (state: string): boolean => state !== 'draining' && state !== 'deleting' && state !== 'deleted' && state !== 'failed';

function actions(c: Context<AppEnv>, m: Machine): Html {
  if (m.state === 'draining') return html`<form method="post" action="/machines/${m.id}/undrain" class="inline">${csrfField(c)}<button type="submit" class="btn">Undrain</button></form>`;
  if (drainable(m.state)) return html`<a class="btn btn-danger" href="/machines/${m.id}/drain">Drain…</a>`;
  return html``;
}

export async function machinesPage(c: Context<AppEnv>): Promise<Response> {
  const state = c.req.query('state') || 'live';
  if (!(FILTERS as readonly string[]).includes(state)) throw new CrabboxError('bad_request', `state ${JSON.stringify(state.slice(0, 20))}: expected one of ${FILTERS.join(', ')}`);
  const cursor = c.req.query('cursor') || undefined;
  const { machines, nextCursor } = await ask(adminMachineList, c, { state: state as (typeof FILTERS)[number], cursor, limit: 100 });
  const drained = c.req.query('drained');
  return c.html(page(c, {
    title: 'Machines', section: 'machines',
    body: html`<h1>Machines</h1>
${drained && /^mch_[0-9a-f]{12}$/.test(drained) ? html`<p class="notice ok" role="status" id="notice">Drained ${drained}.</p>` : ''}
<form class="filters" method="get" action="/machines"><label>State<select name="state">${FILTERS.map((s) => html`<option${s === state ? html` selected` : ''}>${s}</option>`)}</select></label><button type="submit">Show</button></form>
${machines.length ? html`<table class="stack machines">
<thead><tr><th scope="col">Machine</th><th scope="col">State</th><th scope="col">Provider</th><th scope="col">Pool</th><th scope="col">Lease</th><th scope="col" class="num">Age</th><th scope="col" class="num">Assignments</th><th scope="col">Deletion</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${machines.map((m) => html`<tr data-machine="${m.id}">
${cell('Machine', html`<strong>${m.id}</strong>${m.providerId ? html` <span class="muted">${m.providerId}</span>` : ''}`)}
${cell('State', html`${badge(m.state)}${m.stateReason ? html` <span class="muted">${m.stateReason}</span>` : ''}`)}
${cell('Provider', html`${m.provider}${m.type ? html` <span class="muted">${m.type}</span>` : ''}`)}
${cell('Pool', m.pool ?? '-')}
${cell('Lease', m.leaseId ? html`<a href="/leases/${m.leaseId}">${m.leaseId}</a>` : '-')}
${cell('Age', duration(m.ageSeconds * 1000), true)}
${cell('Assignments', m.assignments, true)}
${cell('Deletion', m.deletion.attempts ? html`${m.deletion.attempts} attempts${m.deletion.lastError ? html`: <span class="st-failed">${m.deletion.lastError}</span>` : ''}` : '-')}
${cell('Actions', actions(c, m))}
</tr>`)}</tbody></table>` : empty(state === 'live' ? 'No machines are running. Machines appear here when a lease (or the warm pool) makes one.' : `No ${state} machines.`)}
${pager(new URLSearchParams({ state }), '/machines', nextCursor, cursor !== undefined)}`,
  }));
}

/** The confirmation step: what draining this machine will do, and one button that does it. */
export async function drainConfirmPage(c: Context<AppEnv>): Promise<Response> {
  const { machine: m } = await ask(adminMachineOne, c);
  const what = !drainable(m.state)
    ? html`<p>This machine is ${m.state}; draining it changes nothing.</p>`
    : m.leaseId
      ? html`<p>It serves lease <a href="/leases/${m.leaseId}">${m.leaseId}</a>. It gets no new lease, and is deleted when that lease ends. The lease itself keeps running.</p>`
      : html`<p>It serves no lease, so it is <strong>deleted now</strong>.</p>`;
  return c.html(page(c, {
    title: `Drain ${m.id}`, section: 'machines',
    body: html`<h1>Drain machine ${m.id}?</h1>
<div class="card">
<p>${badge(m.state)} ${m.provider}${m.providerId ? ` ${m.providerId}` : ''}${m.pool ? `, pool ${m.pool}` : ''}.</p>
${what}
<form method="post" action="/machines/${m.id}/drain">${csrfField(c)}<input type="hidden" name="confirm" value="drain">
<button type="submit" class="btn btn-danger" id="confirm-drain">Drain ${m.id}</button> <a href="/machines">Cancel</a></form>
</div>`,
  }));
}

/** POST from the confirmation page only: without its `confirm=drain` the browser is sent to the confirmation. */
export async function drainAction(c: Context<AppEnv>): Promise<Response> {
  const form = await c.req.parseBody();
  if (form.confirm !== 'drain') return c.redirect(`/machines/${param(c, 'id', machineId)}/drain`, 303);
  const { machine } = await ask(adminMachineDrainOne, c);
  return c.redirect(`/machines?drained=${machine.id}`, 303);
}

export async function undrainAction(c: Context<AppEnv>): Promise<Response> {
  await ask(adminMachineUndrainOne, c);
  return c.redirect('/machines', 303);
}

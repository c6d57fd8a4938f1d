import type { Context } from 'hono';
import { hasRole } from '../../coordinator/auth/identity.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { adminLeaseList } from '../../coordinator/routes/admin.ts';
import { poolView } from '../../coordinator/routes/pool.ts';
import { ask } from '../call.ts';
import { duration, utc } from '../format.ts';
import { html, type Html } from '../html.ts';
import { page } from '../views/layout.ts';
import { empty, leaseTable } from '../views/parts.ts';

/** Pool (maintainers, behind requireRole): each warm pool as GET /v1/pool shows it; admins also see everyone's live leases. */

type Pool = Awaited<ReturnType<typeof poolView>>['pools'][number];

const STATES = ['idle', 'assigned', 'provisioning', 'scrubbing', 'draining', 'deleting'] as const;
const ms = (v: number | undefined): string => (v === undefined ? '-' : duration(v));

function poolCard(p: Pool, index: number): Html {
  const total = STATES.reduce((sum, s) => sum + p.machines[s], 0);
  return html`<section class="card" data-pool="${p.name}" aria-labelledby="pool-${index}">
<h2 id="pool-${index}">${p.name} <span class="muted">${p.provider}${p.class ? ` · ${p.class}` : ''}${p.type ? ` · ${p.type}` : ''}</span></h2>
<p>${total} machines, kept between ${p.min} and ${p.max}; open to ${p.users ? 'every user' : 'maintainers and admins'}; ${p.reuse ? 'reused after a scrub' : 'deleted after one lease'}; when empty: ${p.onEmpty === 'cold' ? 'a cold machine' : 'wait (503)'}.</p>
<ul class="counts">${STATES.map((s) => html`<li data-state="${s}"><strong>${p.machines[s]}</strong> ${s}</li>`)}</ul>
<h3>Claims in the last hour</h3>
<dl class="facts">
<dt>From the pool</dt><dd data-claims>${p.claims.lastHour}</dd>
<dt>Latency</dt><dd>p50 ${ms(p.claims.p50Ms)} · p95 ${ms(p.claims.p95Ms)} · max ${ms(p.claims.maxMs)}</dd>
<dt>Found it empty</dt><dd>${p.emptyLastHour}</dd>
<dt>Refill failures</dt><dd>${p.refillFailuresLastHour}${p.backoffUntil ? html` <span class="st-warn">(refills wait until ${utc(Date.parse(p.backoffUntil))})</span>` : ''}</dd>
</dl>
${p.blocked === 'draining' ? html`<p class="notice bad" id="pool-${index}-drained">Drained by an admin: no refills; its machines are deleted once free. <code>crabbox admin undrain --pool ${p.name}</code> resumes it.</p>`
  : p.blocked ? html`<p class="notice bad">It cannot grow to ${p.min} now: ${p.blocked === 'spend-cap' ? 'the monthly spend cap is reached' : p.blocked === 'budget' ? 'its budget is used' : 'it is at its maximum'}.</p>` : ''}
</section>`;
}

export async function poolPage(c: Context<AppEnv>): Promise<Response> {
  const { pools } = await ask(poolView, c, {});
  const now = c.var.deps.clock.now();
  const leases = hasRole(c.var.identity, 'admin') ? (await ask(adminLeaseList, c, { state: 'live', limit: 200 })).leases : undefined;
  return c.html(page(c, {
    title: 'Pool', section: 'pool',
    body: html`<h1>Warm pools</h1>
${pools.length ? html`<div class="pools">${pools.map(poolCard)}</div>` : empty(html`No warm pools are configured: every lease gets a machine of its own, made when it is asked for. An operator defines pools under <code>pools:</code> in the coordinator's config.`)}
${leases ? html`<h2>Everyone's live leases</h2>${leases.length ? leaseTable(c, leases, now, { owner: true }) : empty('Nobody holds a box right now.')}` : ''}`,
  }));
}

import type { Context } from 'hono';
import { month as monthSchema } from '../../api/schemas.ts';
import { groupUsage } from '../../app/usage-groups.ts';
import { hasRole } from '../../coordinator/auth/identity.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { monthWindow } from '../../coordinator/pricing.ts';
import { adminUsageRows } from '../../coordinator/routes/admin.ts';
import { ownUsage } from '../../coordinator/routes/usage.ts';
import { usageByDay } from '../../coordinator/usage-days.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { ask } from '../call.ts';
import { barChart, columnChart } from '../chart.ts';
import { money } from '../format.ts';
import { html, type Html } from '../html.ts';
import { page } from '../views/layout.ts';
import { cell, empty } from '../views/parts.ts';

/** Usage: this month against the caps (owner and org); for admins, the team by day and by owner. */

type Caps = Record<string, Record<string, { limit: number; current: number }>>;

const CAP_NAMES: Record<string, string> = { activeLeases: 'Live leases', monthlySpend: 'Spend this month (reserved)' };
const SCOPE_NAMES: Record<string, string> = { owner: 'you', org: 'your org', global: 'everyone' };

function caps(all: Caps | undefined): Html {
  const entries = Object.entries(all ?? {}).flatMap(([cap, scopes]) => Object.entries(scopes).map(([scope, v]) => ({ cap, scope, ...v })));
  if (entries.length === 0) return empty('No caps are set on this coordinator: nothing limits live leases or monthly spend.');
  return html`<div class="cols">${entries.map((e, i) => {
    const amount = (v: number) => (e.cap === 'monthlySpend' ? money(v) : String(v));
    return html`<div class="card cap" data-cap="${e.cap}.${e.scope}">
<div class="line"><span id="cap-${i}">${CAP_NAMES[e.cap] ?? e.cap}, ${SCOPE_NAMES[e.scope] ?? e.scope}</span><strong>${amount(e.current)} of ${amount(e.limit)}</strong></div>
<meter min="0" max="${Math.max(e.limit, 0.0001)}" low="${e.limit * 0.7}" high="${e.limit * 0.9}" optimum="0" value="${Math.min(e.current, e.limit)}" aria-labelledby="cap-${i}"></meter>
</div>`;
  })}</div>`;
}

function rowsTable(rows: ReturnType<typeof groupUsage>, keyLabel: string): Html {
  return html`<table class="stack usage">
<thead><tr><th scope="col">${keyLabel}</th><th scope="col" class="num">Leases</th><th scope="col" class="num">Hours</th><th scope="col" class="num">Estimated</th><th scope="col" class="num">Reserved</th></tr></thead>
<tbody>${rows.map((r) => html`<tr>${cell(keyLabel, r.key)}${cell('Leases', r.leases, true)}${cell('Hours', r.hours.toFixed(1), true)}${cell('Estimated', money(r.estimatedCost), true)}${cell('Reserved', money(r.reservedCost), true)}</tr>`)}</tbody>
</table>`;
}

/**
 * How the team table names each owner: owners of GitHub logins are `github-<id>`, so the login from their latest
 * sign-in (the `auth.login` event) goes first and the immutable id stays beside it (a login can be renamed). An owner
 * who never signed in here, or whose sign-in aged out of the audit trail, is shown as stored.
 */
async function ownerLabels(store: AppEnv['Variables']['deps']['store'], owners: string[]): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  await Promise.all(owners.map(async (owner) => {
    const login = (await store.listEvents({ type: 'auth.login', owner, limit: 1 })).items[0]?.data?.login;
    labels.set(owner, typeof login === 'string' && login !== '' && login !== owner ? `${login} (${owner})` : owner);
  }));
  return labels;
}

export async function usagePage(c: Context<AppEnv>): Promise<Response> {
  const requested = c.req.query('month') || undefined;
  if (requested !== undefined && !monthSchema.safeParse(requested).success) throw new CrabboxError('bad_request', `month ${JSON.stringify(requested.slice(0, 20))}: expected YYYY-MM, like 2026-01`);
  const own = await ask(ownUsage, c, { month: requested });
  const mine = groupUsage(own.usage as Parameters<typeof groupUsage>[0], 'provider');
  const admin = hasRole(c.var.identity, 'admin');
  let team: Html = html``;
  if (admin) {
    const { store, clock } = c.var.deps;
    const now = clock.now();
    const window = monthWindow(now, requested);
    const all = await ask(adminUsageRows, c, { month: requested });
    const grouped = groupUsage(all.usage as Parameters<typeof groupUsage>[0], 'owner');
    const labels = await ownerLabels(store, grouped.map((r) => r.key));
    const byOwner = grouped.map((r) => ({ ...r, key: labels.get(r.key) ?? r.key }));
    const days = await usageByDay(store, { from: window.from, to: window.to, now });
    team = html`<section aria-labelledby="team-h"><h2 id="team-h">The team in ${window.month}</h2>
${days.some((d) => d.estimatedCost > 0)
      ? columnChart({ id: 'chart-days', caption: 'Estimated cost by day (UTC)', bars: days.map((d) => ({ label: d.day, value: d.estimatedCost })), format: money })
      : empty('Nobody has used a box this month yet.')}
${byOwner.length ? html`${barChart({ id: 'chart-owners', caption: 'Estimated cost by owner', bars: byOwner.map((r) => ({ label: r.key, value: r.estimatedCost })), format: money })}${rowsTable(byOwner, 'Owner')}` : ''}
</section>`;
  }
  return c.html(page(c, {
    title: 'Usage', section: 'usage',
    body: html`<h1>Usage in ${own.month}</h1>
<form class="filters" method="get" action="/usage"><label>Month<input type="month" name="month" value="${own.month}"></label><button type="submit">Show</button></form>
<section aria-labelledby="caps-h"><h2 id="caps-h">Caps</h2>${caps(own.caps as Caps | undefined)}</section>
<section aria-labelledby="mine-h"><h2 id="mine-h">Your usage</h2>
${mine.length ? rowsTable(mine, 'Provider') : empty(html`You used no boxes in ${own.month}. Leases you make with <code>crabbox warmup</code> or <code>crabbox run</code> are counted here.`)}</section>
${team}`,
  }));
}

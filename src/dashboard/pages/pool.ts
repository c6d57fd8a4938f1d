import type { Context } from 'hono';
import type { AppEnv } from '../../coordinator/env.ts';
import { poolLeases } from '../../coordinator/routes/pool.ts';
import { ask } from '../call.ts';
import { html } from '../html.ts';
import { page } from '../views/layout.ts';
import { empty, leaseTable } from '../views/parts.ts';

/** Pool (maintainers, behind requireRole): the shared pool as GET /v1/pool shows it, everyone's live leases. */
export async function poolPage(c: Context<AppEnv>): Promise<Response> {
  const { leases } = await ask(poolLeases, c, { state: 'live', limit: 200 });
  const now = c.var.deps.clock.now();
  return c.html(page(c, {
    title: 'Pool', section: 'pool',
    body: html`<h1>Pool</h1>
<p class="muted">Everyone's live leases: who holds which box, until when.</p>
${leases.length ? leaseTable(c, leases, now, { owner: true }) : empty('Nobody holds a box right now.')}`,
  }));
}

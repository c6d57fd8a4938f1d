import type { Context } from 'hono';
import { audit } from '../../coordinator/audit.ts';
import { endWebSession } from '../../coordinator/auth/web-session.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { ago, utc } from '../format.ts';
import { html } from '../html.ts';
import { csrfField, page } from '../views/layout.ts';
import { cell } from '../views/parts.ts';

/** Sessions: the signed-in person's browser sessions, each revocable; sign-out ends the current one for good. */

export async function sessionsPage(c: Context<AppEnv>): Promise<Response> {
  const { store, clock } = c.var.deps;
  const now = clock.now();
  const current = c.var.webSession.record.id;
  const sessions = await store.listWebSessions(c.var.identity.owner, now);
  const revoked = c.req.query('revoked') === '1';
  return c.html(page(c, {
    title: 'Sessions', section: 'sessions',
    body: html`<h1>Your sessions</h1>
${revoked ? html`<p class="notice ok" role="status" id="notice">Session revoked.</p>` : ''}
<p class="muted">Each browser you signed in with. A session ends after an hour without use, twelve hours after sign-in, at sign-out, or when revoked here.</p>
<table class="stack sessions">
<thead><tr><th scope="col">Browser</th><th scope="col">From</th><th scope="col">Signed in</th><th scope="col">Last used</th><th scope="col">Ends</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${sessions.map((s) => html`<tr data-session="${s.id}">
${cell('Browser', html`${s.userAgent ?? 'unknown browser'}${s.id === current ? html` <span class="badge st-ok">this one</span>` : ''}${s.accessIdentity ? html`<br><span class="muted">Access: ${s.accessIdentity}</span>` : ''}`)}
${cell('From', s.address ?? '-')}
${cell('Signed in', utc(s.createdAt))}
${cell('Last used', ago(s.lastSeenAt, now))}
${cell('Ends', utc(Math.min(s.expiresAt, s.absoluteExpiresAt)))}
${cell('Actions', html`<form method="post" action="/sessions/${s.id}/revoke" class="inline">${csrfField(c)}<button type="submit" class="btn btn-danger" aria-label="Revoke the session of ${s.userAgent ?? 'unknown browser'} from ${s.address ?? 'unknown'}">${s.id === current ? 'Sign out' : 'Revoke'}</button></form>`)}
</tr>`)}</tbody></table>`,
  }));
}

/** Revokes one of the signed-in person's sessions; someone else's (or a made-up id) is a 404. */
export async function revokeAction(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const { store, clock } = c.var.deps;
  if (!/^[0-9a-f]{24}$/.test(id) || !(await store.deleteWebSession(id, c.var.identity.owner))) throw new CrabboxError('not_found', 'no such session');
  await audit(store, { type: 'auth.logout', at: clock.now(), actor: c.var.identity.owner, owner: c.var.identity.owner, org: c.var.identity.org, data: { via: 'revoke' } });
  if (id === c.var.webSession.record.id) {
    await endWebSession(c, id);
    return c.redirect('/login?signed_out=1', 303);
  }
  return c.redirect('/sessions?revoked=1', 303);
}

export async function logoutAction(c: Context<AppEnv>): Promise<Response> {
  const { store, clock } = c.var.deps;
  await endWebSession(c, c.var.webSession.record.id);
  await audit(store, { type: 'auth.logout', at: clock.now(), actor: c.var.identity.owner, owner: c.var.identity.owner, org: c.var.identity.org, data: { via: 'sign-out' } });
  return c.redirect('/login?signed_out=1', 303);
}

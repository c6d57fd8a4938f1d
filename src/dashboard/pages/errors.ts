import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../../coordinator/env.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { redact } from '../../redact/redact.ts';
import { html } from '../html.ts';
import { barePage, page } from '../views/layout.ts';

const TITLES: Record<number, string> = { 400: 'That did not work', 401: 'Sign in first', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 429: 'Too many requests', 503: 'Unavailable' };

/**
 * Errors as pages: the same CrabboxError the API would answer (status, message, hint), redacted and escaped. Someone
 * else's lease or run reads exactly like a missing one, because the error is the API's own.
 */
export function errorResponse(c: Context<AppEnv>, error: unknown, log: (message: string) => void): Response {
  let status = 500;
  let message = 'Something went wrong on the coordinator. Try again; if it keeps happening, its logs say why.';
  let hint: string | undefined;
  if (isCrabboxError(error)) {
    status = error.status;
    message = redact(error.message);
    hint = error.hint === undefined ? undefined : redact(error.hint);
  } else if (error instanceof HTTPException && error.status === 403) {
    status = 403;
    message = 'This form was sent from another site, so it was refused.';
    hint = 'use the dashboard itself to make changes';
  } else {
    log(redact(error instanceof Error ? error.message : String(error)));
  }
  if (c.req.path.startsWith('/live/')) return c.text(message, status as 400);
  const title = TITLES[status] ?? 'Error';
  const body = html`<h1>${title}</h1><div class="card"><p id="error-message">${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}</p>${hint ? html`<p class="muted">${hint.charAt(0).toUpperCase()}${hint.slice(1)}.</p>` : ''}<p><a href="/">Back to your boxes</a></p></div>`;
  const signedIn = c.get('webSession') !== undefined && c.get('identity') !== undefined;
  return c.html(signedIn ? page(c, { title, section: 'none', body }) : barePage(c, { title, body }), status as 400);
}

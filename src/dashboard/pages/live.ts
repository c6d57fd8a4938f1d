import type { Context } from 'hono';
import type { AppEnv } from '../../coordinator/env.ts';
import type { Html } from '../html.ts';

/**
 * Live regions poll their fragment URL with If-None-Match; a fragment's ETag is a hash of the data it shows, so an
 * unchanged state costs a 304 and no rendering.
 */
export function notModified(c: Context<AppEnv>, etag: string): boolean {
  const sent = c.req.header('if-none-match');
  return sent !== undefined && sent.split(',').some((tag) => tag.trim() === etag);
}

export function fragment(c: Context<AppEnv>, etag: string, body: Html): Response {
  return c.html(body, 200, { ETag: etag, 'Cache-Control': 'no-cache, private' });
}

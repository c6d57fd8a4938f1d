import { redact } from '../../redact/redact.ts';

/** The few HTML pages a browser sees during login. Plain, escaped, no scripts, not cached, no referrer. */

const escapeHtml = (s: string) => redact(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

/** One page: a heading, a sentence or two, and optionally a code to show large. */
export function loginPage(title: string, message: string, code?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crabbox login: ${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body><h1>${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p>${code ? `<p><code id="code" style="font-size:2rem;letter-spacing:.2em">${code.replace(/[^A-Z-]/g, '')}</code></p>` : ''}</body></html>
`;
}

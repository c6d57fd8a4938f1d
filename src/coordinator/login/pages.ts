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

/** What the confirmation page says about the login it asks to continue. */
export interface ConfirmPageInput {
  /** Where the form posts (the coordinator's public authorize URL). */
  action: string;
  state: string;
  csrf: string;
  phrase: string;
  /** When and from where the login started, already worded. */
  started: string;
  from: string;
}

/**
 * The page a login link opens: when and from where the login started and the phrase its terminal printed, and one
 * button that continues to GitHub (a POST carrying the anti-forgery token). No script; the words are the check.
 */
export function confirmPage(input: ConfirmPageInput): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crabbox login: confirm</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}#phrase{font-size:2rem;font-weight:bold}button{font-size:1rem;padding:.5rem 1rem}</style></head>
<body><h1>Is this your crabbox login?</h1>
<p id="started">A crabbox login was started ${escapeHtml(input.started)} from <strong id="from">${escapeHtml(input.from)}</strong>.</p>
<p>Continue only if you started it yourself, just now, and your terminal shows this phrase:</p>
<p><code id="phrase">${escapeHtml(input.phrase)}</code></p>
<form method="post" action="${escapeHtml(input.action)}">${hidden('state', input.state)}${hidden('csrf', input.csrf)}<button id="confirm" type="submit">My terminal shows this phrase: continue to GitHub</button></form>
<p id="warning">If you did not start this login, or the phrase differs, close this page: someone may be trying to sign in to crabbox as you.</p>
</body></html>
`;
}


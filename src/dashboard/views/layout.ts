import type { Context } from 'hono';
import { hasRole, type Identity } from '../../coordinator/auth/identity.ts';
import type { AppEnv } from '../../coordinator/env.ts';
import { ASSETS } from '../assets/index.ts';
import { html, type Child, type Html } from '../html.ts';

export type Section = 'mine' | 'runs' | 'usage' | 'pool' | 'machines' | 'audit' | 'sessions' | 'none';

interface NavItem {
  key: Section;
  href: string;
  label: string;
  /** Shown only to this role and above. */
  role?: 'maintainer' | 'admin';
}

const NAV: NavItem[] = [
  { key: 'mine', href: '/', label: 'Mine' },
  { key: 'runs', href: '/runs', label: 'Runs' },
  { key: 'usage', href: '/usage', label: 'Usage' },
  { key: 'pool', href: '/pool', label: 'Pool', role: 'maintainer' },
  { key: 'machines', href: '/machines', label: 'Machines', role: 'admin' },
  { key: 'audit', href: '/audit', label: 'Audit' },
];

/** The hidden field every state-changing form carries (CSRF layer two). */
export const csrfField = (c: Context<AppEnv>): Html => html`<input type="hidden" name="csrf" value="${c.var.webSession.csrfToken}">`;

function head(c: Context<AppEnv>, title: string): Html {
  return html`<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} · crabbox</title>
<link rel="icon" href="${ASSETS.icon.path}" type="image/svg+xml">
<link rel="stylesheet" href="${ASSETS.style.path}">
<script src="${ASSETS.script.path}" nonce="${c.var.nonce}" defer></script>`;
}

function who(c: Context<AppEnv>, identity: Identity, current: Section): Html {
  const access = c.var.accessIdentity;
  return html`<div class="who">
<span>Signed in as <strong id="who-login">${identity.login ?? identity.owner}</strong> <span class="badge" id="who-role">${identity.role}</span></span>
${access ? html`<span id="who-access" title="Cloudflare Access identity">Access: ${access}</span>` : ''}
<a href="/sessions"${current === 'sessions' ? html` aria-current="page"` : ''}>Sessions</a>
<form method="post" action="/logout" class="inline">${csrfField(c)}<button type="submit" id="logout">Sign out</button></form>
</div>`;
}

/** A signed-in page: header with the role's navigation, who is signed in (and their Access identity), the body. */
export function page(c: Context<AppEnv>, input: { title: string; section: Section; body: Child }): Html {
  const identity = c.var.identity;
  const nav = NAV.filter((item) => !item.role || hasRole(identity, item.role));
  return html`<!doctype html>
<html lang="en">
<head>${head(c, input.title)}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/"><img src="${ASSETS.icon.path}" alt="">crabbox</a>
<nav class="main" aria-label="Main">${nav.map((item) => html`<a href="${item.href}"${item.key === input.section ? html` aria-current="page"` : ''}>${item.label}</a>`)}</nav>
${who(c, identity, input.section)}
</header>
<main id="main">
${input.body}
</main>
<footer>crabbox coordinator · times in UTC</footer>
</body>
</html>`;
}

/** A page for someone not signed in (sign-in, errors before a session exists). */
export function barePage(c: Context<AppEnv>, input: { title: string; body: Child }): Html {
  return html`<!doctype html>
<html lang="en">
<head>${head(c, input.title)}</head>
<body>
<header class="top"><a class="brand" href="/"><img src="${ASSETS.icon.path}" alt="">crabbox</a></header>
<main id="main">
${input.body}
</main>
</body>
</html>`;
}

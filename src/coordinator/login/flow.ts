import type { Context } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import type { GitHubLoginConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { authorizeUrl } from './github.ts';

/** What both browser logins share: the CLI's (`crabbox login`) and the dashboard's sign-in. */

/** A login must finish within this time of its start. */
export const LOGIN_TTL_MS = 10 * 60 * 1000;

/** The GitHub login settings, or the 404 saying this coordinator has none. */
export function githubLogin(c: Context<AppEnv>): GitHubLoginConfig {
  const config = c.var.deps.config.login.github;
  if (!config) throw new CrabboxError('not_found', 'this coordinator has no GitHub login configured', { hint: 'ask its operator for a token and use `crabbox login --token-stdin`' });
  return config;
}

/** The coordinator's public URL without a trailing slash (GitHub login makes it required). */
export const publicBase = (c: Context<AppEnv>): string => c.var.deps.config.login.publicUrl!.replace(/\/+$/, '');

/** The one OAuth callback both logins come back to (an OAuth app has one registered callback URL). */
export const callbackUrl = (c: Context<AppEnv>): string => `${publicBase(c)}/v1/login/callback`;

/** Sends the browser to GitHub's authorize page for the login whose OAuth state is `state`. */
export const toGitHub = (c: Context<AppEnv>, gh: GitHubLoginConfig, state: string, status: 302 | 303): Response =>
  c.redirect(authorizeUrl({ webUrl: gh.webUrl, apiUrl: gh.apiUrl }, { clientId: gh.clientId, redirectUri: callbackUrl(c), state }), status);

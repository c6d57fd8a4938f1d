import type { GitHubLoginConfig } from '../config.ts';
import { GitHubClient, GitHubError, type GitHubUser } from './github.ts';

/** Who passed the GitHub checks, or why not. The reasons are the `auth.denied` event reasons. */
export type CheckOutcome =
  | { ok: true; user: GitHubUser; org: string; email: string }
  | { ok: false; reason: 'not-member' | 'membership-pending' | 'wrong-team' | 'no-verified-email' | 'github-error'; message: string; login?: string | undefined; temporary?: boolean };

/**
 * Exchanges the code and decides: verified primary email, active membership in an allowed org, and, when teams are
 * configured, active membership in an allowed team of that org. The GitHub token never leaves this function.
 */
export async function checkGitHubLogin(input: { github: GitHubLoginConfig; code: string; redirectUri: string; fetch?: typeof fetch }): Promise<CheckOutcome> {
  const { github } = input;
  const client = new GitHubClient({ endpoints: { webUrl: github.webUrl, apiUrl: github.apiUrl }, fetch: input.fetch });
  let login: string | undefined;
  try {
    const token = await client.exchangeCode({ clientId: github.clientId, clientSecret: github.clientSecret, code: input.code, redirectUri: input.redirectUri });
    const user = await client.user(token);
    login = user.login;
    const email = await client.verifiedPrimaryEmail(token);
    if (!email) return { ok: false, reason: 'no-verified-email', login, message: `GitHub account ${login} has no verified primary email address` };

    const active: string[] = [];
    let pending: string | undefined;
    for (const org of github.orgs) {
      const state = await client.orgMembership(token, org);
      if (state === 'active') active.push(org);
      else if (state === 'pending') pending ??= org;
    }
    const allowed = github.orgs.join(', ');
    if (active.length === 0 && pending) return { ok: false, reason: 'membership-pending', login, message: `${login}'s invitation to ${pending} is still pending; accept it on GitHub and run crabbox login again` };
    if (active.length === 0) return { ok: false, reason: 'not-member', login, message: `${login} is not an active member of an allowed organization (${allowed})` };

    if (github.teams.length === 0) return { ok: true, user, org: active[0]!, email };
    for (const ref of github.teams) {
      const [org, team] = ref.split('/') as [string, string];
      const orgMatch = active.find((a) => a.toLowerCase() === org.toLowerCase());
      if (orgMatch && (await client.teamMembership(token, org, team, user.login)) === 'active') return { ok: true, user, org: orgMatch, email };
    }
    return { ok: false, reason: 'wrong-team', login, message: `${login} is not an active member of an allowed team (${github.teams.join(', ')})` };
  } catch (error) {
    const message = error instanceof GitHubError ? error.message : `GitHub could not be reached (${error instanceof Error ? error.name : 'error'})`;
    // Unreachable, 5xx or rate-limited: GitHub's trouble, not a verdict on the person; the login can simply be retried.
    const temporary = !(error instanceof GitHubError) || (error.status !== undefined && (error.status >= 500 || error.status === 429));
    return { ok: false, reason: 'github-error', login, message, temporary };
  }
}

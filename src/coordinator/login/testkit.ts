import { createHash, randomBytes } from 'node:crypto';
import { addUser, startFakeGitHub, type FakeGitHub } from '../../testing/fake-github.ts';
import { ScriptedBrowser, type Page } from '../../testing/login-browser.ts';
import { harness, type Harness } from '../testkit.ts';

/** Fixtures for login tests: a coordinator harness wired to a fake GitHub, and a scripted "browser". */

export const PUBLIC_URL = 'http://coordinator.test';

export interface LoginHarness extends Harness {
  github: FakeGitHub;
  /** Starts a login the way the CLI does; returns what the CLI keeps (and prints: the phrase). */
  start(options?: { port?: number; source?: string; headers?: Record<string, string> }): Promise<{ loginId: string; secret: string; authorizeUrl: string; phrase: string; status: number; json: any }>;
  /** A fresh browser whose requests to the coordinator go to the harness's coordinator (in process or the Worker). */
  browser(headers?: Record<string, string>): ScriptedBrowser;
  /**
   * Plays a person: opens the login link, confirms on the page, authorizes at GitHub as `login`. The callback is not
   * requested yet: `open()` does that in the same browser (with the cookie the confirmation set).
   */
  approveAtGitHub(authorizeUrl: string, login: string, browser?: ScriptedBrowser): Promise<Approval>;
  poll(loginId: string, secret: string, code?: string): Promise<{ status: number; json: any }>;
  /** The one-time code an approved callback handed the browser (loopback redirect or page). */
  codeOf(callback: { headers: Headers; json: any }): string;
  /** start -> browser -> callback -> poll with the code: the token answer for `login`. */
  tokenFor(login: string): Promise<string>;
  deniedReasons(): Promise<string[]>;
}

export interface Approval {
  /** The callback path GitHub sent the browser to. */
  path: string;
  /** The phrase the confirmation page showed. */
  phrase: string;
  browser: ScriptedBrowser;
  /** Requests the callback in the browser that confirmed. */
  open(): Promise<Page>;
}

export async function loginHarness(options: { admins?: string[]; teams?: string[]; orgs?: string[]; ttlSeconds?: number; maxPendingPerSource?: number; maxPending?: number } = {}): Promise<LoginHarness> {
  const github = await startFakeGitHub({ callbackUrl: `${PUBLIC_URL}/v1/login/callback` });
  addUser(github, { id: 1001, login: 'alice', orgs: { acme: 'active' }, teams: { 'acme/platform': 'active' } });
  addUser(github, { id: 1002, login: 'bob', orgs: { acme: 'active' }, teams: { 'acme/docs': 'active' } });
  addUser(github, { id: 1003, login: 'mallory', orgs: { evil: 'active' } });
  addUser(github, { id: 1004, login: 'newbie', orgs: { acme: 'pending' } });
  addUser(github, { id: 1005, login: 'noemail', orgs: { acme: 'active' }, emails: [{ email: 'x@example.com', primary: true, verified: false, visibility: null }] });
  const h = await harness({
    config: {
      ...(options.admins ? { auth: { admins: options.admins } } : {}),
      login: {
        publicUrl: PUBLIC_URL,
        github: { clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: `${github.url}/api`, orgs: options.orgs ?? ['acme'], teams: options.teams ?? [] },
        ...(options.ttlSeconds ? { userTokenTtlSeconds: options.ttlSeconds } : {}),
        ...(options.maxPending ? { maxPending: options.maxPending } : {}),
        ...(options.maxPendingPerSource ? { maxPendingPerSource: options.maxPendingPerSource } : {}),
      },
    },
  });
  const pathOf = (url: string) => {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  };
  const lh: LoginHarness = {
    ...h,
    github,
    async start(o = {}) {
      const secret = randomBytes(32).toString('base64url');
      const secretHash = createHash('sha256').update(secret).digest('hex');
      const res = await h.fetch('/v1/login/start', { method: 'POST', headers: { 'content-type': 'application/json', ...o.headers }, body: JSON.stringify({ secretHash, ...(o.port ? { port: o.port } : {}) }) }, { source: o.source ?? '192.0.2.1' });
      const json = (await res.json()) as any;
      return { loginId: json.loginId, secret, authorizeUrl: json.authorizeUrl, phrase: json.phrase, status: res.status, json };
    },
    browser: (headers) => new ScriptedBrowser((url, init) => (url.startsWith(PUBLIC_URL) ? h.fetch(url, init) : fetch(url, init)), headers),
    async approveAtGitHub(authorizeUrl, login, browser = lh.browser()) {
      const { form } = await browser.openLoginLink(authorizeUrl);
      const confirmed = await browser.confirm(form);
      if (confirmed.status !== 303) throw new Error(`the confirmation answered ${confirmed.status}: ${confirmed.text.slice(0, 200)}`);
      github.signInAs(login);
      const callback = await browser.authorizeAtGitHub(confirmed.headers.get('location')!);
      return { path: pathOf(callback), phrase: form.phrase, browser, open: () => browser.get(callback) };
    },
    poll: (loginId, secret, code) => h.request('POST', '/v1/login/poll', { body: { loginId, secret, ...(code !== undefined ? { code } : {}) } }),
    codeOf(callback) {
      const location = callback.headers.get('location');
      const code = location ? new URL(location).searchParams.get('code') : /<code id="code"[^>]*>([A-Z-]+)<\/code>/.exec(String(callback.json?.raw))?.[1];
      if (!code) throw new Error('the callback handed out no code');
      return code;
    },
    async tokenFor(login) {
      const started = await lh.start();
      const callback = await (await lh.approveAtGitHub(started.authorizeUrl, login)).open();
      const poll = await lh.poll(started.loginId, started.secret, lh.codeOf(callback));
      if (!poll.json?.token) throw new Error(`no token for ${login}: ${JSON.stringify(poll.json)}`);
      return poll.json.token as string;
    },
    async deniedReasons() {
      const page = await h.store.listEvents({ type: 'auth.denied', limit: 200 });
      return page.items.map((e) => String((e.data as { reason?: string } | undefined)?.reason));
    },
    async close() {
      await h.close();
      await github.close();
    },
  };
  return lh;
}

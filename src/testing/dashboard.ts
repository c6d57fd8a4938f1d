import type { ManualClock } from '../domain/clock.ts';
import type { Provider } from '../providers/provider.ts';
import { harness, type Harness } from '../coordinator/testkit.ts';
import type { coordinatorConfig } from '../coordinator/config.ts';
import { addUser, startFakeGitHub, type FakeGitHub } from '../testing/fake-github.ts';
import { ScriptedBrowser, type Page } from '../testing/login-browser.ts';

/**
 * Fixtures for dashboard tests through app.request: a coordinator (real SQLite, fake provider, manual clock) wired to
 * a fake GitHub at an https public URL, and scripted browsers that sign in the way a person does (sign-in form ->
 * GitHub -> the one callback) and keep their cookies.
 */
export const DASH_URL = 'https://coordinator.test';

export interface DashHarness extends Harness {
  github: FakeGitHub;
  /** A browser whose same-origin requests carry what a real one sends (Sec-Fetch-Site, Origin on posts). */
  browser(): ScriptedBrowser;
  /** Signs `login` in through GitHub; the browser then holds the session cookie. */
  signIn(login: string, browser?: ScriptedBrowser): Promise<ScriptedBrowser>;
  /** GET a dashboard path in a browser. */
  open(browser: ScriptedBrowser, path: string, headers?: Record<string, string>): Promise<Page>;
  /** POST a form the way the page's own form does: with the page's CSRF token unless `csrf` is given (or null). */
  submit(browser: ScriptedBrowser, path: string, fields?: Record<string, string>, options?: { csrf?: string | null; headers?: Record<string, string> }): Promise<Page>;
  /** The session's CSRF token, read from a page the browser is shown. */
  csrf(browser: ScriptedBrowser): Promise<string>;
  /** The reasons of the auth.denied events so far, newest first. */
  deniedReasons(): Promise<string[]>;
}

export const csrfIn = (html: string): string | undefined => /name="csrf" value="([0-9a-f]{64})"/.exec(html)?.[1];

export async function dashHarness(options: {
  admins?: string[]; maintainers?: string[]; config?: Parameters<typeof coordinatorConfig>[0]; clock?: ManualClock; path?: string;
  /** Where browsers reach it (default DASH_URL, served in process); a real server's URL for Chromium tests. */
  publicUrl?: string; providers?: Record<string, Provider>;
} = {}): Promise<DashHarness> {
  const base = options.publicUrl ?? DASH_URL;
  const github = await startFakeGitHub({ callbackUrl: `${base}/v1/login/callback` });
  addUser(github, { id: 1001, login: 'alice', orgs: { acme: 'active' } });
  addUser(github, { id: 1002, login: 'bob', orgs: { acme: 'active' } });
  addUser(github, { id: 1003, login: 'carol', orgs: { acme: 'active' } });
  addUser(github, { id: 1004, login: 'mallory', orgs: { evil: 'active' } });
  const h = await harness({
    clock: options.clock, path: options.path, providers: options.providers,
    config: {
      ...options.config,
      auth: { admins: ['root', ...(options.admins ?? [])], maintainers: ['keeper', ...(options.maintainers ?? [])] },
      login: { maxPendingPerSource: 100, ...options.config?.login, publicUrl: base, github: { clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: `${github.url}/api`, orgs: ['acme'], teams: [] } },
    },
  });
  const send = (url: string, init: RequestInit) => (url.startsWith(base) ? Promise.resolve(h.app.request(url, init)) : fetch(url, init));
  const browser = () => new ScriptedBrowser(send);
  const dh: DashHarness = {
    ...h,
    github,
    browser,
    async signIn(login, b = browser()) {
      const started = await b.post(`${base}/login`, {}, { origin: base, 'sec-fetch-site': 'same-origin' });
      const toGitHub = started.headers.get('location');
      if (started.status !== 303 || !toGitHub) throw new Error(`sign-in answered ${started.status}: ${started.text.slice(0, 200)}`);
      github.signInAs(login);
      const callback = await b.get(await b.authorizeAtGitHub(toGitHub));
      if (callback.status !== 303) throw new Error(`the callback answered ${callback.status}: ${callback.text.slice(0, 300)}`);
      return b;
    },
    open: (b, path, headers = {}) => b.get(`${base}${path}`, { 'sec-fetch-site': 'same-origin', ...headers }),
    async submit(b, path, fields = {}, o = {}) {
      const token = o.csrf === undefined ? await dh.csrf(b) : o.csrf;
      return b.post(`${base}${path}`, { ...fields, ...(token === null ? {} : { csrf: token }) }, { origin: base, 'sec-fetch-site': 'same-origin', ...o.headers });
    },
    async csrf(b) {
      const page = await dh.open(b, '/sessions');
      const token = csrfIn(page.text);
      if (!token) throw new Error(`no CSRF token on /sessions (${page.status})`);
      return token;
    },
    async deniedReasons() {
      const page = await h.store.listEvents({ type: 'auth.denied', limit: 500 });
      return page.items.map((e) => String((e.data as { reason?: string } | undefined)?.reason));
    },
    async close() {
      await h.close();
      await github.close();
    },
  };
  return dh;
}

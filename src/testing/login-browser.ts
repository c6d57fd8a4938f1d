/**
 * A scripted browser for login tests: follows what a person clicks through (the coordinator's confirmation page,
 * GitHub's authorize page, the callback), keeps the cookies each origin sets (a tiny jar: name=value per origin,
 * Max-Age=0 deletes), and never follows redirects by itself so tests can look at each hop. `send` decides how a URL is
 * fetched (the in-process app for the coordinator, real HTTP for the fake GitHub).
 */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

export interface Page {
  status: number;
  headers: Headers;
  text: string;
  /** The h.request-like shape: HTML bodies as `{ raw }`. */
  json: any;
  url: string;
}

/** What a confirmation page offers: its phrase, when and from where, and the form to post. */
export interface ConfirmForm {
  phrase: string;
  started: string;
  from: string;
  action: string;
  fields: Record<string, string>;
}

const unescape = (s: string): string => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));

export function parseConfirmPage(html: string): ConfirmForm | undefined {
  const phrase = /<code id="phrase">([^<]*)<\/code>/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1];
  if (phrase === undefined || action === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = unescape(m[2]!);
  const started = /<p id="started">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
  return { phrase: unescape(phrase), action: unescape(action), fields, started: unescape(started.replace(/<[^>]+>/g, '')), from: unescape(/<strong id="from">([^<]*)<\/strong>/.exec(html)?.[1] ?? '') };
}

export class ScriptedBrowser {
  readonly #send: Send;
  /** origin -> cookie name -> value */
  readonly jar = new Map<string, Map<string, string>>();
  /** Extra headers on every request (e.g. a real browser's Sec-Fetch-Site). */
  readonly headers: Record<string, string>;

  constructor(send: Send = (url, init) => fetch(url, init), headers: Record<string, string> = {}) {
    this.#send = send;
    this.headers = headers;
  }

  #cookies(url: string): Map<string, string> {
    const origin = new URL(url).origin;
    let cookies = this.jar.get(origin);
    if (!cookies) this.jar.set(origin, (cookies = new Map()));
    return cookies;
  }

  async #request(url: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Page> {
    const cookies = this.#cookies(url);
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await this.#send(url, { ...init, redirect: 'manual', headers: { ...this.headers, ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (attrs.some((a) => /^max-age=0$/i.test(a))) cookies.delete(name);
      else cookies.set(name, pair.slice(eq + 1));
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = { raw: text };
    }
    return { status: res.status, headers: res.headers, text, json, url };
  }

  get(url: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.#request(url, { method: 'GET', headers });
  }

  post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.#request(url, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** Opens a login link and returns its confirmation page (throws when the link opens something else). */
  async openLoginLink(authorizeUrl: string): Promise<{ page: Page; form: ConfirmForm }> {
    const page = await this.get(authorizeUrl);
    const form = parseConfirmPage(page.text);
    if (page.status !== 200 || !form) throw new Error(`the login link answered ${page.status} without a confirmation page: ${page.text.slice(0, 200)}`);
    return { page, form };
  }

  /** Presses the confirm button; returns the answer (303 to GitHub when accepted). */
  confirm(form: ConfirmForm): Promise<Page> {
    return this.post(form.action, form.fields);
  }

  /** At the fake GitHub (already signed in as someone): presses Authorize; returns the callback URL GitHub sends the browser to. */
  async authorizeAtGitHub(githubAuthorizeUrl: string): Promise<string> {
    const gh = new URL(githubAuthorizeUrl);
    const back = await this.post(`${gh.origin}/login/oauth/authorize`, { redirect_uri: gh.searchParams.get('redirect_uri')!, state: gh.searchParams.get('state')! });
    const location = back.headers.get('location');
    if (back.status !== 302 || !location) throw new Error(`GitHub answered ${back.status}`);
    return location;
  }
}

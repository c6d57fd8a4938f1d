import { whoamiJson } from '../../api/shapes.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { parse } from 'yaml';
import { main } from '../main.ts';
import { ManualClock } from '../../domain/clock.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { harness, SHARED_TOKEN, type Harness } from '../../coordinator/testkit.ts';
import { addUser, startFakeGitHub, type FakeGitHub } from '../../testing/fake-github.ts';
import { startCliProcess } from '../../testing/cli-process.ts';
import { ScriptedBrowser } from '../../testing/login-browser.ts';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const AUTHORIZE = /(http:\/\/127\.0\.0\.1:\d+\/v1\/login\/authorize\?state=[0-9a-f]+)/;
const PHRASE = /confirm this login's phrase: ([a-z]+-[a-z]+-[a-z]+)\n/;

describe('crabbox login / whoami / logout against a real coordinator and a fake GitHub', () => {
  let github: FakeGitHub;
  let server: Server;
  let h: Harness;
  let url: string;
  const dir = tempDir('crabbox-login-');
  let n = 0;
  /** A fresh home per test; PATH holds no xdg-open/open, so the CLI prints the URL instead of opening a browser. */
  const freshEnv = () => {
    const root = join(dir.path, `home-${++n}`);
    mkdirSync(join(root, 'bin'), { recursive: true });
    return isolatedEnv(root, { PATH: join(root, 'bin'), CRABBOX_OWNER: 'ci-bot' });
  };
  const configPath = (env: NodeJS.ProcessEnv) => join(env.XDG_CONFIG_HOME!, 'crabbox', 'config.yaml');

  before(async () => {
    github = await startFakeGitHub();
    addUser(github, { id: 1001, login: 'alice', orgs: { acme: 'active' } });
    addUser(github, { id: 1003, login: 'mallory', orgs: { evil: 'active' } });
    let listener: ReturnType<typeof getRequestListener> | undefined;
    server = createServer((req, res) => void listener!(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The coordinator's clock starts at real time so the CLI's countdown and the login expiry agree.
    h = await harness({
      clock: new ManualClock(Date.now()),
      config: { login: { publicUrl: url, github: { clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: `${github.url}/api`, orgs: ['acme'], teams: [] } } },
    });
    listener = getRequestListener(h.app.fetch);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
    await github.close();
    dir.remove();
  });

  it('headless Chromium follows the real redirects to the CLI loopback and the real CLI ends up logged in', async () => {
    const env = freshEnv();
    // A key the login must keep.
    mkdirSync(join(env.XDG_CONFIG_HOME!, 'crabbox'), { recursive: true });
    writeFileSync(configPath(env), '# my settings\nprovider: local\nlease:\n  ttl: 2h\n');
    const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 90_000 });
    const authorizeUrl = (await cli.waitForStderr(AUTHORIZE))[1]!;
    const phrase = (await cli.waitForStderr(PHRASE))[1]!;
    github.signInAs('alice');
    const profile = join(dir.path, `chromium-${n}`);
    let loginId = '';
    const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(authorizeUrl);
      // The link opens the confirmation page: the phrase this CLI printed, when and from where the login started.
      assert.equal(page.url(), authorizeUrl);
      assert.equal(await page.textContent('#phrase'), phrase);
      assert.equal(await page.textContent('#from'), '127.0.0.1');
      assert.match((await page.textContent('#started'))!, /^A crabbox login was started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(just now\) from 127\.0\.0\.1\.$/);
      await page.click('#confirm');
      await page.waitForURL(new RegExp(`^${github.url}/login/oauth/authorize\\?`));
      await page.click('#authorize');
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?login=login_[0-9a-f]{24}&code=[A-Z]{4}-[A-Z]{4}$/);
      assert.equal(await page.textContent('h1'), 'crabbox login finished');
      loginId = new URL(page.url()).searchParams.get('login')!;
    } finally {
      await browser.close();
    }
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Logged in as alice \(acme\)/);
    assert.match(result.stdout, /owner\s+github-1001\n/);
    assert.match(result.stdout, /login\s+alice\n/);
    assert.match(result.stdout, /auth\s+user token \(GitHub login\)/);
    assert.doesNotMatch(result.stdout + result.stderr, /cbxu_/);
    const record = await h.store.getLogin(loginId);
    assert.deepEqual([record?.status, record?.source, record?.owner], ['delivered', '127.0.0.1', 'github-1001']);

    const stored = parse(readFileSync(configPath(env), 'utf8'));
    assert.equal(stored.coordinator.url, url);
    assert.equal(stored.coordinator.tokenKind, 'user');
    assert.match(stored.coordinator.token, /^cbxu_/);
    assert.equal(stored.provider, 'local');
    assert.equal(stored.lease.ttl, '2h');
    assert.match(readFileSync(configPath(env), 'utf8'), /# my settings/);
    assert.equal(statSync(configPath(env)).mode & 0o777, 0o600);

    const who = await runCli(['whoami', '--json'], { env });
    assert.equal(who.code, 0, who.stderr);
    const json = JSON.parse(who.stdout);
    assert.deepEqual([json.owner, json.org, json.login, json.role, json.via, json.coordinator], ['github-1001', 'acme', 'alice', 'user', 'user-token', url]);
    assert.ok(Date.parse(json.expiresAt) > Date.now() + 29 * 86_400_000);
    assert.ok(whoamiJson.safeParse(json).success, 'whoami --json has the one shape: expiresAt in ISO 8601');

    const out = await runCli(['logout'], { env });
    assert.equal(out.code, 0);
    assert.match(out.stderr, /Logged out/);
    const after = parse(readFileSync(configPath(env), 'utf8'));
    assert.equal(after.coordinator, undefined, 'logout removes the token and the URL (back to direct mode)');
    assert.equal(after.lease.ttl, '2h', 'other settings stay');
    const gone = await runCli(['whoami'], { env });
    assert.equal(gone.code, ExitCode.config);
    assert.match(gone.stderr, /no coordinator configured/);
    const stillThere = await runCli(['whoami', '--url', url], { env });
    assert.equal(stillThere.code, ExitCode.noPermission);
    assert.match(stillThere.stderr, /not logged in to http:\/\/127\.0\.0\.1:\d+; run `crabbox login`/);
    assert.match((await runCli(['logout'], { env })).stderr, /Not logged in/);
  });

  /** A scripted browser: confirms on the page, then follows the redirects (including the one to the CLI's loopback, if any). */
  async function remoteBrowser(authorizeUrl: string, login: string, options: { followLoopback?: boolean } = {}): Promise<{ status: number; text: string; location?: string | null }> {
    const browser = new ScriptedBrowser();
    const toGitHub = await browser.confirm((await browser.openLoginLink(authorizeUrl)).form);
    github.signInAs(login);
    const callback = await browser.get(await browser.authorizeAtGitHub(toGitHub.headers.get('location')!));
    const loopback = callback.headers.get('location');
    if (options.followLoopback === false) return { status: callback.status, text: callback.text, location: loopback };
    if (callback.status === 302 && loopback?.startsWith('http://127.0.0.1:')) {
      const page = await fetch(loopback);
      return { status: page.status, text: await page.text() };
    }
    return { status: callback.status, text: callback.text };
  }

  it('--no-browser: no loopback; the page shows a code, typed into the CLI it collects the token', async () => {
    const env = freshEnv();
    const cli = startCliProcess(['login', '--url', url, '--no-browser'], { env, interactive: true, timeoutMs: 60_000 });
    const authorizeUrl = (await cli.waitForStderr(AUTHORIZE))[1]!;
    await cli.waitForStderr(/type the code the browser shows here/);
    const page = await remoteBrowser(authorizeUrl, 'alice');
    assert.equal(page.status, 200);
    const code = /<code id="code"[^>]*>([A-Z]{4}-[A-Z]{4})<\/code>/.exec(page.text)![1]!;
    cli.write(`${code.toLowerCase()}\n`);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /login\s+alice/);
  });

  it('on a terminal the wait shows a countdown on stderr', async () => {
    const env = freshEnv();
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    let seen = '';
    const ticked = new Promise<void>((resolve) => stderr.on('data', (b: Buffer) => {
      seen += b.toString();
      if (/\rWaiting for the browser login\.\.\. (10:00|9:[0-5]\d) left/.test(seen)) resolve();
    }));
    stdout.resume();
    const stdin = new PassThrough();
    stdin.end();
    const running = main({ argv: ['login', '--url', url], env, cwd: dir.path, stdin, stdout, stderr });
    await ticked;
    const authorizeUrl = AUTHORIZE.exec(seen)![1]!;
    const landed = await remoteBrowser(authorizeUrl, 'alice');
    assert.equal(landed.status, 200);
    assert.match(landed.text, /crabbox login finished/);
    assert.equal(await running, 0);
    assert.match(seen, /\r\x1b\[K/);
  });

  it('when the browser cannot reach the loopback the CLI says so, and still finishes if the redirect arrives later', async () => {
    const env = freshEnv();
    const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 60_000 });
    const authorizeUrl = (await cli.waitForStderr(AUTHORIZE))[1]!;
    const stuck = await remoteBrowser(authorizeUrl, 'alice', { followLoopback: false });
    assert.equal(stuck.status, 302);
    await cli.waitForStderr(/could not reach this machine.*crabbox login --no-browser/);
    assert.equal((await fetch(stuck.location!)).status, 200);
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
  });

  it('gives up with a clear message when the login does not finish in time (CLI clock moved, no sleeping)', async () => {
    const env = freshEnv();
    const clock = new ManualClock(Date.now());
    const err: string[] = [];
    const stderr = new PassThrough();
    const waiting = new Promise<void>((resolve) => stderr.on('data', (b: Buffer) => {
      err.push(b.toString());
      if (/Waiting up to \d+:\d\d/.test(err.join(''))) resolve();
    }));
    const stdout = new PassThrough();
    stdout.resume();
    const stdin = new PassThrough();
    stdin.end();
    const running = main({ argv: ['login', '--url', url], env, cwd: dir.path, stdin, stdout, stderr, clock });
    await waiting;
    await clock.waitForTimers(1); // the poll loop is waiting on the CLI's clock
    clock.advance(10 * 60_000);
    assert.equal(await running, ExitCode.tempFail);
    assert.match(err.join(''), /crabbox: the browser login did not finish within 10 minutes; run `crabbox login` again/);
    assert.equal(existsSync(configPath(env)), false);
  });

  it('a denied login ends with a clear CLI message and stores nothing', async () => {
    const env = freshEnv();
    const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 60_000 });
    const authorizeUrl = (await cli.waitForStderr(AUTHORIZE))[1]!;
    const page = await remoteBrowser(authorizeUrl, 'mallory');
    assert.equal(page.status, 403);
    assert.match(page.text, /Login denied/);
    const result = await cli.done;
    assert.equal(result.code, ExitCode.noPermission);
    assert.match(result.stderr, /crabbox: login denied: mallory is not an active member of an allowed organization \(acme\)/);
    assert.equal(existsSync(configPath(env)), false);
  });

  it('a GitHub 5xx during login is a temporary failure: exit 69, "try again", nothing stored', async () => {
    const env = freshEnv();
    github.fail('/api/user/memberships', 502);
    try {
      const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 60_000 });
      const authorizeUrl = (await cli.waitForStderr(AUTHORIZE))[1]!;
      const page = await remoteBrowser(authorizeUrl, 'alice');
      assert.equal(page.status, 502);
      const result = await cli.done;
      assert.equal(result.code, ExitCode.unavailable, result.stderr);
      assert.match(result.stderr, /crabbox: login failed: GitHub .* 502.*; a temporary GitHub problem; run `crabbox login` again in a minute/);
      assert.equal(existsSync(configPath(env)), false);
    } finally {
      github.clearFailures();
    }
  });

  it('without a display it prints the URL to open instead of claiming it opened a browser', async () => {
    const env = freshEnv();
    // An opener that exists (and would fail): it must not even be tried without DISPLAY / WAYLAND_DISPLAY.
    writeFileSync(join(env.HOME!, 'bin', 'xdg-open'), `#!/bin/sh\ntouch '${join(env.HOME!, 'opener-ran')}'\nexit 3\n`, { mode: 0o755 });
    const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 60_000 });
    await cli.waitForStderr(/Open this URL in a browser to sign in with GitHub:\n {2}http/);
    cli.kill();
    const { stderr } = await cli.done;
    assert.doesNotMatch(stderr, /Opened|Opening your browser/);
    assert.equal(existsSync(join(env.HOME!, 'opener-ran')), false);
  });

  it('with a display, an opener that fails is reported with the URL to open', async () => {
    const env: NodeJS.ProcessEnv = { ...freshEnv(), DISPLAY: ':99' };
    writeFileSync(join(env.HOME!, 'bin', 'xdg-open'), '#!/bin/sh\necho "xdg-open: no method available for opening" >&2\nexit 3\n', { mode: 0o755 });
    const cli = startCliProcess(['login', '--url', url], { env, timeoutMs: 60_000 });
    await cli.waitForStderr(/Opening your browser to sign in with GitHub\. If nothing happens, open:/);
    await cli.waitForStderr(/Could not open a browser \(xdg-open exited 3\); open the URL above in a browser to sign in\./);
    cli.kill();
    await cli.done;
  });

  it('--token-stdin checks the shared token with whoami and stores it 0600; a wrong one is refused and nothing is stored', async () => {
    const env = freshEnv();
    const bad = await runCli(['login', '--url', url, '--token-stdin'], { env, stdin: 'wrong-token-0123456789\n' });
    assert.equal(bad.code, ExitCode.noPermission);
    assert.match(bad.stderr, /not valid for this coordinator/);
    assert.equal(existsSync(configPath(env)), false);
    const ok = await runCli(['login', '--url', url, '--token-stdin'], { env, stdin: `${SHARED_TOKEN}\n` });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /owner\s+ci-bot/);
    assert.match(ok.stdout, /auth\s+shared operator token/);
    assert.doesNotMatch(ok.stdout + ok.stderr, new RegExp(SHARED_TOKEN));
    const stored = parse(readFileSync(configPath(env), 'utf8'));
    assert.deepEqual(stored.coordinator, { url, token: SHARED_TOKEN, tokenKind: 'shared' });
    assert.equal(statSync(configPath(env)).mode & 0o777, 0o600);
    assert.equal(statSync(join(env.XDG_CONFIG_HOME!, 'crabbox')).mode & 0o777, 0o700);
    const who = await runCli(['whoami'], { env });
    assert.match(who.stdout, /owner\s+ci-bot/);
    assert.equal((await runCli(['whoami', '--url', `${url}/`], { env })).code, 0);
    // The stored token is never sent to a coordinator other than the one it was stored for.
    const other = await runCli(['whoami', '--url', 'https://elsewhere.example'], { env });
    assert.equal(other.code, ExitCode.noPermission);
    assert.match(other.stderr, /not logged in to https:\/\/elsewhere\.example/);
  });

  it('there is no --token flag, empty stdin is refused, and a coordinator URL is required', async () => {
    const env = freshEnv();
    const flag = await runCli(['login', '--url', url, '--token', SHARED_TOKEN], { env });
    assert.equal(flag.code, ExitCode.usage);
    assert.match(flag.stderr, /unknown option '--token'/);
    const empty = await runCli(['login', '--url', url, '--token-stdin'], { env, stdin: '' });
    assert.equal(empty.code, ExitCode.usage);
    assert.match(empty.stderr, /no token on stdin/);
    const none = await runCli(['login', '--token-stdin'], { env, stdin: SHARED_TOKEN });
    assert.equal(none.code, ExitCode.config);
    assert.match(none.stderr, /no coordinator configured/);
    const http = await runCli(['login', '--url', 'http://crabbox.example.com', '--token-stdin'], { env, stdin: SHARED_TOKEN });
    assert.match(http.stderr, /must use https/);
    const noCode = await runCli(['login', '--url', url, '--no-browser'], { env, stdin: '' });
    assert.equal(noCode.code, ExitCode.usage);
    assert.match(noCode.stderr, /no code was entered/);
  });
});

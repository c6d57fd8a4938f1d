// The dashboard end to end: a real coordinator process (`crabbox coordinator serve` from the built bundle, SQLite, the
// local provider, GitHub login against the fake GitHub), the real CLI making leases and runs, and headless Chromium
// watching the pages. Every dashboard page a test opens is checked for CSP violations and errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { signUserToken } from '../../src/auth/user-token.ts';
import { launchChromium, LAPTOP, signInWithGitHub, watchedPage } from '../../src/testing/chromium.ts';
import { runBin, type CliResult } from '../../src/testing/cli.ts';
import { addUser, startFakeGitHub, type FakeGitHub } from '../../src/testing/fake-github.ts';
import { initRepo } from '../../src/testing/git.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';

const SHARED = 'dashboard-e2e-shared-token-0123456789';
const SECRET = 'dashboard-e2e-session-secret-0123456789abcdef';
const JUNIT = '<testsuite name="billing"><testcase classname="billing" name="bills by the second"><failure message="expected 0.0139, got 0.0138">AssertionError at billing.test.js:42</failure></testcase><testcase classname="billing" name="rounds"/></testsuite>';

const tmp = tempDir('crabbox-e2e-dashboard-');
const repo = join(tmp.path, 'repo');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the dashboard of a real coordinator, with the real CLI', () => {
  let github: FakeGitHub;
  let coordinator: ServeProcess;
  let url = '';
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const tokens: Record<string, string> = {};

  const envOf = (user: string): NodeJS.ProcessEnv => isolatedEnv(join(tmp.path, user), { CRABBOX_COORDINATOR: url, CRABBOX_COORDINATOR_TOKEN: tokens[user] });
  const cli = (user: string, argv: string[]): Promise<CliResult> => runBin(argv, { env: envOf(user), cwd: repo, timeoutMs: 120_000 });
  const api = async (user: string, path: string) => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${tokens[user]}` } })).json() as Promise<any>;

  /** A page signed in as `login`; `clean()` fails on any CSP violation or error on a dashboard page. */
  async function signedIn(login: string) {
    const context = await browser.newContext({ viewport: LAPTOP });
    contexts.push(context);
    const watched = await watchedPage(context);
    await signInWithGitHub(watched.page, url, github, login);
    /** `expected`: an error a test provokes on purpose (a 404 page is logged as a failed load). */
    const clean = (expected?: RegExp) => assert.deepEqual(watched.problems.filter((p) => (p.includes(url) || p.startsWith('CSP')) && !expected?.test(p)), []);
    return { ...watched, clean };
  }

  before(async () => {
    initRepo(repo, { 'README.md': '# billing\n' });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    github = await startFakeGitHub({ callbackUrl: `${url}/v1/login/callback` });
    addUser(github, { id: 1001, login: 'alice', orgs: { acme: 'active' } });
    addUser(github, { id: 1002, login: 'bob', orgs: { acme: 'active' } });
    const config = join(tmp.path, 'coordinator.yaml');
    writeFileSync(config, 'caps:\n  activeLeases: { owner: 5 }\n');
    coordinator = await startServe(isolatedEnv(join(tmp.path, 'coord'), {
      CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SECRET, CRABBOX_COORDINATOR_CONFIG: config, CRABBOX_PUBLIC_URL: url,
      CRABBOX_GITHUB_CLIENT_ID: github.clientId, CRABBOX_GITHUB_CLIENT_SECRET: github.clientSecret, CRABBOX_GITHUB_URL: github.url,
      CRABBOX_GITHUB_API_URL: `${github.url}/api`, CRABBOX_GITHUB_ORGS: 'acme',
    }), ['--db', join(tmp.path, 'coordinator.sqlite'), '--providers', 'local'], { port });
    // The CLI acts as the same people the browser signs in as (GitHub users 1001 and 1002), with tokens like `crabbox login` gets.
    const iat = Math.floor(Date.now() / 1000);
    for (const [user, id] of [['alice', 1001], ['bob', 1002]] as const) {
      tokens[user] = await signUserToken({ owner: `github-${id}`, org: 'acme', login: user, iat, exp: iat + 3600, jti: `e2e-${user}` }, SECRET);
    }
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    for (const user of Object.keys(tokens)) {
      const list = await cli(user, ['list', '--json']).catch(() => undefined);
      if (list?.code === 0) for (const l of (JSON.parse(list.stdout) as { leases: { id: string }[] }).leases) await cli(user, ['stop', l.id]);
    }
    await coordinator?.stop();
    await github?.close();
    tmp.remove();
  });

  it('a lease appears on Mine while the page is open after `crabbox warmup`, is released from the page, and its timeline ends with the machine deleted', async () => {
    const { page, clean } = await signedIn('alice');
    await page.waitForSelector('#no-leases');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const warm = await cli('alice', ['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const { id, slug } = JSON.parse(warm.stdout) as { id: string; slug: string };
    const row = await page.waitForSelector(`tr[data-lease="${id}"]`, { timeout: 20_000 });
    assert.equal(navigations, 0, 'it came in live, without a reload');
    assert.match((await row.textContent())!, new RegExp(`${slug}[\\s\\S]*active[\\s\\S]*local[\\s\\S]*in \\d+ min`));
    await page.click(`tr[data-lease="${id}"] button:has-text("Release")`);
    await page.waitForURL(`${url}/?released=${slug}`);
    assert.equal(await page.textContent('#notice'), `Released ${slug}.`);
    assert.equal(await page.$(`tr[data-lease="${id}"]`), null);
    assert.equal((await api('alice', `/v1/leases/${id}`)).lease.state, 'released');
    // The release is answered once the lease has ended; the machine's deletion follows it (decision 0064).
    await until(async () => ((await api('alice', `/v1/events?leaseId=${id}&type=machine.deleted`)) as { events: unknown[] }).events.length > 0, 'the machine deleted after the release', 30_000);
    await page.goto(`${url}/leases/${id}`);
    const types = await page.$$eval('#timeline li', (items) => items.map((li) => li.getAttribute('data-type')));
    assert.deepEqual([types[0], types.at(-1)], ['lease.created', 'machine.deleted'], types.join(' '));
    assert.ok(types.includes('lease.released'));
    clean();
  });

  it('a failing `crabbox run --junit` shows its JUnit failure, message and coloured log; another owner gets a 404 for it', async () => {
    const run = await cli('alice', ['run', '--junit', 'report.xml', '--', 'sh', '-c', `printf '%s' '${JUNIT}' > report.xml; printf '\\033[31mFAIL\\033[0m billing\\n'; exit 1`]);
    assert.equal(run.code, 1, run.stderr);
    const runId = /run=(run_[0-9a-f]{12})/.exec(run.stderr)?.[1];
    assert.ok(runId, run.stderr);
    const alice = await signedIn('alice');
    await alice.page.goto(`${url}/`);
    await alice.page.click(`tr[data-run="${runId}"] a[href="/runs/${runId}"]`);
    await alice.page.waitForURL(`${url}/runs/${runId}`);
    assert.equal(await alice.page.textContent('#exit-code'), '1');
    const failure = await alice.page.textContent('#failures li');
    assert.match(failure!, /billing › bills by the second/);
    assert.match(failure!, /expected 0\.0139, got 0\.0138/);
    assert.equal(await alice.page.textContent('#log span.f1'), 'FAIL');
    assert.match((await alice.page.textContent('#command'))!, /printf/);
    alice.clean();

    const bob = await signedIn('bob');
    const res = await bob.page.goto(`${url}/runs/${runId}`);
    assert.equal(res?.status(), 404);
    assert.equal(await bob.page.textContent('#error-message'), `No run ${runId}.`);
    assert.doesNotMatch((await bob.page.content()), /billing|printf/);
    bob.clean(new RegExp(`/runs/${runId}\\): Failed to load resource: the server responded with a status of 404`));
  });
});

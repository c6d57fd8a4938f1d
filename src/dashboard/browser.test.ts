import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { poolConfig } from '../coordinator/pool/config.ts';
import { ManualClock } from '../domain/clock.ts';
import { appServer, LAPTOP, launchChromium, PHONE, signInWithGitHub, watchedPage, type AppServer } from '../testing/chromium.ts';
import { FAILING_JUNIT, FAILING_LOG, seedDashboard, type Seeded } from '../testing/dashboard-seed.ts';
import { dashHarness, type DashHarness } from '../testing/dashboard.ts';

// Functions handed to Chromium (page.evaluate, addInitScript) run in the page; these are its globals. The project is
// typed for Node without the DOM library, so server code cannot use `document` unnoticed.
declare const document: any, window: any, getComputedStyle: any, localStorage: any, sessionStorage: any, performance: any;
type HTMLElement = any;
type PerformanceNavigationTiming = any;
type PerformanceResourceTiming = any;

/**
 * The dashboard in headless Chromium, against the coordinator app served over real HTTP (fake provider, a seeded month,
 * a manual clock at 2026-01-20 14:00 UTC). Every page a test opens is watched: a CSP violation, console error or
 * uncaught exception on a dashboard page fails the test. Screenshots of every view at laptop and phone widths go to
 * docs/dashboard/ when CRABBOX_SCREENSHOTS=docs (how the committed ones were made), else to a temporary directory.
 */
const DOCS = fileURLToPath(new URL('../../docs/dashboard/', import.meta.url));

describe('the dashboard in Chromium', () => {
  let server: AppServer;
  let h: DashHarness;
  let seed: Seeded;
  let browser: Browser;
  let shots: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    server = await appServer();
    h = await dashHarness({
      publicUrl: server.url, admins: ['github-1003'], clock: new ManualClock(Date.UTC(2026, 0, 1)),
      config: { caps: { activeLeases: { owner: 5, org: 20 }, monthlySpend: { owner: 100, org: 1000 } }, pools: [poolConfig({ name: 'warm', provider: 'fake', class: 'standard', min: 2, max: 4, users: true })] },
    });
    server.serve(h.app.fetch);
    seed = await seedDashboard(h);
    browser = await launchChromium();
    shots = process.env.CRABBOX_SCREENSHOTS === 'docs' ? DOCS : mkdtempSync(join(tmpdir(), 'crabbox-dashboard-shots-'));
    mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await h?.close();
    await server?.close();
    if (shots && shots !== DOCS) rmSync(shots, { recursive: true, force: true });
  });

  /** Problems on the dashboard's own pages; the fake GitHub's pages (a missing favicon) are not ours to judge. */
  const ours = (problems: string[]) => problems.filter((p) => p.includes(server.url) || p.startsWith('CSP'));

  /** A signed-in page; problems on the dashboard's own pages (not GitHub's) fail the test at `clean()`. */
  async function signedIn(login: string, options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}) {
    const context = await browser.newContext({ viewport: options.viewport ?? LAPTOP, colorScheme: options.colorScheme ?? 'light' });
    contexts.push(context);
    const watched = await watchedPage(context);
    await signInWithGitHub(watched.page, server.url, h.github, login);
    /** `expected`: the failures a test provokes on purpose (a refused request shows up as a console error). */
    const clean = (expected?: RegExp) => assert.deepEqual(ours(watched.problems).filter((p) => !expected?.test(p)), [], 'CSP violations or errors on a dashboard page');
    return { ...watched, context, clean };
  }

  it('signs in through GitHub; the session cookie is HttpOnly, Secure, SameSite=Lax, host-only and short-lived, unreadable by script', async () => {
    const { page, context, clean } = await signedIn('alice');
    assert.equal(await page.textContent('#who-login'), 'alice');
    const cookies = await context.cookies(server.url);
    const session = cookies.find((c) => c.name === '__Host-crabbox_session')!;
    assert.ok(session, JSON.stringify(cookies));
    assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path, session.domain], [true, true, 'Lax', '/', '127.0.0.1']);
    const lifetime = session.expires * 1000 - Date.now();
    assert.ok(lifetime > 55 * 60_000 && lifetime <= 60 * 60_000 + 5000, `an hour, not ${Math.round(lifetime / 60_000)} minutes`);
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read it');
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'nothing kept in client storage');
    assert.ok(!page.url().includes(session.value) && !(await page.content()).includes(session.value.split('.')[1]!));
    await page.click('#logout');
    await page.waitForURL(`${server.url}/login?signed_out=1`);
    assert.equal((await context.cookies(server.url)).find((c) => c.name === '__Host-crabbox_session'), undefined);
    await page.goto(`${server.url}/`);
    assert.equal(page.url(), `${server.url}/login`, 'signed out for good');
    clean();
  });

  it('every view, at laptop and phone widths, light and dark: no CSP violation, one h1, labelled fields, nothing wider than a phone', async () => {
    const views: { name: string; login: string; path: string }[] = [
      { name: 'mine', login: 'alice', path: '/' },
      { name: 'mine-empty', login: 'carol', path: '/' },
      { name: 'runs', login: 'alice', path: '/runs' },
      { name: 'run-failed', login: 'alice', path: `/runs/${seed.failedRun}` },
      { name: 'lease', login: 'alice', path: `/leases/${seed.aliceLeases[0]!.id}` },
      { name: 'usage', login: 'alice', path: '/usage' },
      { name: 'usage-admin', login: 'carol', path: '/usage' },
      { name: 'pool', login: 'carol', path: '/pool' },
      { name: 'machines', login: 'carol', path: '/machines' },
      { name: 'audit', login: 'carol', path: '/audit?from=2026-01-20' },
      { name: 'sessions', login: 'alice', path: '/sessions' },
    ];
    const variants = [
      { size: 'laptop', viewport: LAPTOP, colorScheme: 'light' as const },
      { size: 'phone', viewport: PHONE, colorScheme: 'light' as const },
      { size: 'laptop-dark', viewport: LAPTOP, colorScheme: 'dark' as const, only: ['mine', 'run-failed', 'usage-admin'] },
      { size: 'phone-dark', viewport: PHONE, colorScheme: 'dark' as const, only: ['mine', 'run-failed'] },
    ];
    for (const variant of variants) {
      const pages = new Map<string, { page: Page; clean: () => void }>();
      for (const view of views.filter((v) => !variant.only || variant.only.includes(v.name))) {
        let signed = pages.get(view.login);
        if (!signed) pages.set(view.login, (signed = await signedIn(view.login, variant)));
        const { page } = signed;
        await page.goto(`${server.url}${view.path}`);
        const facts = await page.evaluate(() => ({
          h1: document.querySelectorAll('h1').length,
          unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select')].filter((el) => !el.closest('label') && !(el as HTMLElement).getAttribute('aria-label')).length,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          scheme: getComputedStyle(document.body).backgroundColor,
        }));
        const where = `${view.name} (${variant.size})`;
        assert.equal(facts.h1, 1, where);
        assert.equal(facts.unlabelled, 0, `${where}: every field has a label`);
        assert.ok(facts.overflow <= 0, `${where}: ${facts.overflow}px wider than the screen`);
        assert.equal(facts.scheme, variant.colorScheme === 'dark' ? 'rgb(19, 21, 25)' : 'rgb(246, 246, 243)', `${where}: follows prefers-color-scheme`);
        // Laptop shots show the whole page (the docs show what each view holds); phone shots the first screen.
        await page.screenshot({ path: join(shots, `${view.name}-${variant.size}.png`), fullPage: variant.size === 'laptop' });
      }
      for (const { clean } of pages.values()) clean();
    }
    const sign = await browser.newContext({ viewport: PHONE });
    contexts.push(sign);
    const login = await watchedPage(sign);
    await login.page.goto(`${server.url}/login`);
    await login.page.screenshot({ path: join(shots, 'sign-in-phone.png') });
    assert.deepEqual(ours(login.problems), []);
  });

  it('is usable from the keyboard: the first Tab reaches "Skip to content", and focus is visible', async () => {
    const { page, clean } = await signedIn('alice');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.equal(outline, 'solid');
    clean();
  });

  it('the first page weighs under 100 KB transferred, script and stylesheet included', async (t) => {
    // A fresh browser (empty cache): the page, its script, stylesheet and icon.
    const fresh = await browser.newContext({ viewport: LAPTOP });
    contexts.push(fresh);
    const watched = await watchedPage(fresh);
    await signInWithGitHub(watched.page, server.url, h.github, 'alice');
    await watched.page.waitForLoadState('load');
    const bytes = await watched.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      return { page: nav.transferSize, resources: resources.reduce((sum, r) => sum + (r.transferSize || r.encodedBodySize), 0), count: resources.length };
    });
    assert.ok(bytes.count >= 2, 'script and stylesheet were counted');
    const total = bytes.page + bytes.resources;
    t.diagnostic(`first page: ${total} bytes transferred (page ${bytes.page}, ${bytes.count} assets ${bytes.resources})`);
    assert.ok(total < 100 * 1024, `first page: ${total} bytes`);
    assert.ok(bytes.page > 2000, `the page itself was counted (${bytes.page} bytes)`);
    assert.deepEqual(ours(watched.problems), []);
  });

  it('a request without the session\'s CSRF token is refused, and so is a form on another origin; the lease lives on', async () => {
    const { page, clean } = await signedIn('alice');
    const lease = seed.aliceLeases[1]!;
    const status = await page.evaluate(async (id) => (await fetch(`/leases/${id}/release`, { method: 'POST', body: new URLSearchParams({}) })).status, lease.id);
    assert.equal(status, 403);
    // Another origin on the same machine (same site, so the Lax cookie rides along): its form is refused by origin and token.
    const evil: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<form id="f" method="post" action="${server.url}/leases/${lease.id}/release"><button id="go">win a prize</button></form>`));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await Promise.all([page.waitForURL((u) => u.href.startsWith(server.url)), page.click('#go')]);
      assert.match((await page.textContent('#error-message')) ?? '', /another site|anti-forgery/);
    } finally {
      evil.close();
    }
    assert.equal((await h.store.getLease(lease.id))?.state, 'active');
    await page.goto(`${server.url}/`);
    assert.equal(await page.textContent('#who-login'), 'alice', 'the session is untouched');
    clean(/\/release\): Failed to load resource: the server responded with a status of 403/);
  });

  it('a run in progress finishes on its page and on Mine without a reload: state, exit code, JUnit failure, coloured log', async () => {
    const { page, context, clean } = await signedIn('alice');
    const lease = seed.aliceLeases[0]!;
    const started = await h.request('POST', '/v1/runs', { token: seed.tokens.alice, body: { leaseId: lease.id, command: 'npm test' } });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const runId = started.json.run.id as string;
    await page.goto(`${server.url}/runs/${runId}`);
    assert.match((await page.textContent('#run .facts'))!, /running/);
    assert.equal(await page.$('#exit-code'), null);
    const mine = await context.newPage();
    await mine.goto(`${server.url}/`);
    assert.match((await mine.textContent(`tr[data-run="${runId}"]`))!, /running/);
    let navigations = 0;
    for (const p of [page, mine]) p.on('framenavigated', (frame) => void (frame === p.mainFrame() && navigations++));

    const finished = await h.request('POST', `/v1/runs/${runId}/finish`, {
      token: seed.tokens.alice, body: { exitCode: 1, remoteExitCode: 1, timings: { sync: 500, command: 3_000, total: 3_500 }, logTail: FAILING_LOG, junit: FAILING_JUNIT },
    });
    assert.equal(finished.status, 200, JSON.stringify(finished.json));
    await page.waitForSelector('#exit-code', { timeout: 15_000 });
    assert.equal(await page.textContent('#exit-code'), '1');
    assert.match((await page.textContent('#failures li'))!, /billing › bills by the second[\s\S]*0\.0138 !== 0\.0139/);
    assert.equal(await page.textContent('#log span.f1'), '✖', 'the log tail in colour');
    await mine.waitForFunction((id) => /failed/.test(document.querySelector(`tr[data-run="${id}"]`)?.textContent ?? ''), runId, { timeout: 15_000 });
    assert.match((await mine.textContent(`tr[data-run="${runId}"]`))!, /failed[\s\S]*\b1\b[\s\S]*2 failed of 118/);
    assert.equal(navigations, 0, 'no reload');
    await mine.close();
    clean();
  });

  it('running times tick and the live region polls on the page clock: the test advances it instead of waiting', async () => {
    const { page, clean } = await signedIn('alice');
    await page.clock.install();
    const polls: string[] = [];
    page.on('request', (r) => void (r.url().includes('/live/runs/') && polls.push(r.url())));
    await page.goto(`${server.url}/runs/${seed.runningRun}`);
    /** The running time as the page shows it, in seconds (the formats of duration() in assets/client.ts). */
    const shown = async (): Promise<number> => {
      const text = (await page.textContent('[data-up]'))!;
      const [a, unitA, b = '0'] = text.split(' ');
      const scale: Record<string, [number, number]> = { s: [1, 0], min: [60, 1], h: [3600, 60], d: [86_400, 3600] };
      const [big, small] = scale[unitA!]!;
      return Number(a) * big + Number(b) * small;
    };
    const before = await shown();
    assert.equal(polls.length, 0, 'no poll before its first 2 s have passed on the page clock');
    const polled = page.waitForResponse((r) => r.url().includes(`/live/runs/${seed.runningRun}`));
    await page.clock.runFor(2_000);
    assert.equal((await polled).status(), 304, 'nothing changed: If-None-Match answered with 304');
    await page.clock.runFor(10 * 60_000);
    const after = await shown();
    // Ten minutes and two seconds later on the page clock, whatever unit the page shows (a minute at the coarsest here).
    assert.ok(Math.abs(after - before - 602) <= 60, `running time moved from ${before} s to ${after} s`);
    clean();
  });

  it("another owner's lease and run cannot be seen or acted on through any URL in the browser: each reads like one that does not exist", async () => {
    const { page, clean } = await signedIn('alice');
    const bob = { lease: seed.bobLease, run: seed.bobRun };
    // Lists first: her own denials below name what she asked for, in her audit trail.
    for (const path of ['/', '/runs', '/audit', '/usage']) {
      await page.goto(`${server.url}${path}`);
      const text = await page.content();
      assert.ok(!text.includes(bob.lease.id) && !text.includes(bob.lease.slug) && !text.includes(bob.run), `${path} lists nothing of bob's`);
    }
    for (const path of [`/leases/${bob.lease.id}`, `/leases/${bob.lease.slug}`, `/runs/${bob.run}`, `/audit?lease=${bob.lease.id}`]) {
      const res = await page.goto(`${server.url}${path}`);
      assert.equal(res?.status(), 404, path);
      assert.match((await page.textContent('#error-message'))!, /^No (lease|run) /, path);
      const text = await page.content();
      assert.ok(!text.includes('make check') && !text.includes('github-1002'), `${path} shows nothing of bob's`);
    }
    await page.goto(`${server.url}/`);
    // Her own valid token does not make his lease hers: the fragment, and the release form aimed at his lease.
    const answers = await page.evaluate(async ({ lease, run }) => {
      const csrf = (document.querySelector('input[name=csrf]') as { value: string }).value;
      const fragment = await fetch(`/live/runs/${run}`);
      const release = await fetch(`/leases/${lease}/release`, { method: 'POST', body: new URLSearchParams({ csrf }) });
      return [fragment.status, release.status];
    }, { lease: bob.lease.id, run: bob.run });
    assert.deepEqual(answers, [404, 404]);
    const form = await page.evaluate((lease) => {
      const f = document.querySelector('form[action$="/release"]');
      f.setAttribute('action', `/leases/${lease}/release`);
      return f.getAttribute('action');
    }, bob.lease.slug);
    assert.equal(form, `/leases/${bob.lease.slug}/release`);
    const res = await Promise.all([page.waitForNavigation(), page.click('form[action$="/release"] button')]);
    assert.equal(res[0]?.status(), 404);
    assert.equal((await h.store.getLease(bob.lease.id))?.state, 'active', "bob's lease lives on");
    clean(/status of 404/);
  });

  it('an admin drains a machine through the confirmation page', async () => {
    const { page, clean } = await signedIn('carol');
    const machineId = (await h.store.getLease(seed.bobLease.id))!.machineId!;
    await page.goto(`${server.url}/machines`);
    await page.click(`tr[data-machine="${machineId}"] a:has-text("Drain")`);
    await page.waitForURL(`${server.url}/machines/${machineId}/drain`);
    assert.match((await page.textContent('main'))!, new RegExp(`It serves lease ${seed.bobLease.id}\\. It gets no new lease, and is deleted when that lease ends`));
    assert.equal((await h.store.getMachine(machineId))?.state, 'assigned', 'nothing happens before the confirmation');
    await page.click('#confirm-drain');
    await page.waitForURL(`${server.url}/machines?drained=${machineId}`);
    assert.equal(await page.textContent('#notice'), `Drained ${machineId}.`);
    assert.match((await page.textContent(`tr[data-machine="${machineId}"]`))!, /draining/);
    assert.equal((await h.store.getMachine(machineId))?.state, 'draining');
    const events = await h.store.listEvents({ type: 'machine.drained', machineId, limit: 1 });
    assert.equal(events.items[0]?.actor, 'admin:carol');
    clean();
  });

  it('a lease made elsewhere appears on Mine without a reload, its countdown moving', async () => {
    const { page, clean } = await signedIn('bob');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const before = (await page.$$('tr[data-lease]')).length;
    const countdown = await page.textContent('tr[data-lease] time');
    const res = await h.request('POST', '/v1/leases', { token: seed.tokens.bob, body: { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t' } });
    await page.waitForSelector(`tr[data-lease="${res.json.lease.id}"]`, { timeout: 15_000 });
    assert.equal((await page.$$('tr[data-lease]')).length, before + 1);
    assert.equal(navigations, 0, 'no reload');
    await page.waitForFunction((first) => document.querySelector('tr[data-lease]:last-child time')?.textContent !== first, countdown, { timeout: 5000 });
    clean();
  });
});

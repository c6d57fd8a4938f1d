import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { poolConfig } from '../coordinator/pool/config.ts';
import { ManualClock } from '../domain/clock.ts';
import { seedDashboard, type Seeded } from '../testing/dashboard-seed.ts';
import { dashHarness, type DashHarness } from '../testing/dashboard.ts';
import type { ScriptedBrowser } from '../testing/login-browser.ts';

/**
 * What each view shows, item by item as issue 18 lists them, over the seeded month (served in process): Mine, a run,
 * usage (and the admin's charts), the pool, the audit filters and a lease's timeline. Markup is read with small
 * patterns on the rendered HTML; the look of the same pages is the Chromium test's.
 */

/** The `<tr>` rows of a table body whose opening tag carries `attr` (data-lease, data-run, data-type, ...). */
const rows = (html: string, attr: string): string[] => [...html.matchAll(new RegExp(`<tr ${attr}="[^"]*"[\\s\\S]*?</tr>`, 'g'))].map((m) => m[0]);
/** A cell's text by its stacked label (`data-label`), tags removed. */
const cell = (row: string, label: string): string => (new RegExp(`data-label="${label}"[^>]*>([\\s\\S]*?)</td>`).exec(row)?.[1] ?? '').replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim();

describe('dashboard views show what the issue asks for', () => {
  let h: DashHarness;
  let seed: Seeded;
  let alice: ScriptedBrowser;
  let carol: ScriptedBrowser;

  before(async () => {
    h = await dashHarness({
      admins: ['github-1003'], clock: new ManualClock(Date.UTC(2026, 0, 1)),
      config: { caps: { activeLeases: { owner: 5, org: 20 }, monthlySpend: { owner: 100, org: 1000 } }, pools: [poolConfig({ name: 'warm', provider: 'fake', class: 'standard', min: 2, max: 4, users: true })] },
    });
    seed = await seedDashboard(h);
    alice = await h.signIn('alice');
    carol = await h.signIn('carol');
  });
  after(() => h.close());

  it('Mine: each live lease with slug, class, provider, a countdown, the cost so far and a release form; recent runs with state, exit code, duration and timings; with nothing yet, what to do', async () => {
    const page = await h.open(alice, '/');
    const leases = rows(page.text, 'data-lease');
    assert.equal(leases.length, 2, 'her two live leases');
    const first = leases.find((r) => r.includes(seed.aliceLeases[0]!.id))!;
    assert.match(cell(first, 'Lease'), new RegExp(`^${seed.aliceLeases[0]!.slug} `));
    assert.match(cell(first, 'State'), /^active$/);
    assert.match(cell(first, 'Class'), /^standard\b/);
    assert.equal(cell(first, 'Provider'), 'fake');
    assert.match(first, /<time datetime="[^"]+" [^>]*data-left="\d+">in \d+ h \d+ min<\/time>/, 'a countdown that moves');
    assert.match(cell(first, 'Cost so far'), /^\$\d+\.\d{2}$/);
    assert.match(first, /data-cost="[\d.]+" data-rate="[\d.]+"/, 'a cost that moves');
    assert.match(first, new RegExp(`<form method="post" action="/leases/${seed.aliceLeases[0]!.id}/release"[^>]*><input type="hidden" name="csrf" value="[0-9a-f]{64}"><button[^>]*>Release</button>`));

    const runs = rows(page.text, 'data-run');
    assert.ok(runs.length >= 3 && runs.length <= 10, `at most ten recent runs, got ${runs.length}`);
    const failed = runs.find((r) => r.includes(seed.failedRun))!;
    assert.equal(cell(failed, 'State'), 'failed');
    assert.equal(cell(failed, 'Exit'), '1');
    assert.equal(cell(failed, 'Duration'), '5.4 s');
    assert.equal(cell(failed, 'Timings'), 'lease 0 ms · sync 640 ms · command 4.6 s');
    assert.equal(cell(failed, 'Tests'), '2 failed of 118');
    assert.match(cell(runs.find((r) => r.includes(seed.runningRun))!, 'Duration'), /^running for 3 min 00 s$/);

    // Someone with nothing yet is told what to do.
    const empty = (await h.open(carol, '/')).text;
    assert.match(empty, /<p id="no-leases">No live leases\. Lease a box with <code>crabbox warmup<\/code>/);
    assert.match(empty, /<p id="no-runs">No runs yet\. <code>crabbox run -- &lt;command&gt;<\/code> records each run here/);
  });

  it('a run: its command, phase timings, JUnit failures with messages, the log tail in colour; the command is withheld when recording is off', async () => {
    const page = await h.open(alice, `/runs/${seed.failedRun}`);
    assert.match(page.text, /<pre class="command" id="command">npm test -- --reporter=junit<\/pre>/);
    for (const [phase, value] of [['lease', '0 ms'], ['sync', '640 ms'], ['command', '4.6 s']]) {
      assert.match(page.text, new RegExp(`<span id="phase-${phase}">${phase}</span><meter [^>]*></meter><span class="num">${value}</span>`), phase);
    }
    assert.match(page.text, /<p id="junit-totals">118 tests: 116 passed, 2 failed, 0 errors, 0 skipped/);
    assert.match(page.text, /billing › bills by the second<\/strong> <span class="muted">test\/billing\.test\.js:42<\/span>[\s\S]*?<span class="msg">Expected values to be strictly equal: 0\.0138 !== 0\.0139<\/span>/);
    assert.match(page.text, /<pre class="log" id="log"[^>]*>[\s\S]*<span class="f1">✖<\/span> bills by the second/, 'red stays red');
    assert.doesNotMatch(page.text, /\x1b/, 'no raw escape sequence');

    const quiet = await dashHarness({ clock: new ManualClock(Date.UTC(2026, 0, 1)), config: { recordCommand: false } });
    try {
      const q = await seedDashboard(quiet);
      const b = await quiet.signIn('alice');
      const run = await quiet.open(b, `/runs/${q.failedRun}`);
      assert.equal(run.status, 200);
      assert.doesNotMatch(run.text, /reporter=junit/);
      assert.match(run.text, /Not recorded: this coordinator keeps no commands \(recordCommand is off\)\./);
      assert.match(run.text, /id="failures"/, 'the rest of the run is still shown');
    } finally {
      await quiet.close();
    }
  });

  it('usage: this month against the owner and org caps for everyone; the team by day and by owner for admins only', async () => {
    const mine = await h.open(alice, '/usage');
    assert.match(mine.text, /<h1>Usage in 2026-01<\/h1>/);
    for (const cap of ['activeLeases.owner', 'activeLeases.org', 'monthlySpend.owner', 'monthlySpend.org']) assert.match(mine.text, new RegExp(`data-cap="${cap}"`), cap);
    assert.match(mine.text, /data-cap="activeLeases\.owner"[\s\S]*?<strong>2 of 5<\/strong>/, 'her two live leases of five');
    assert.match(mine.text, /data-cap="activeLeases\.org"[\s\S]*?<strong>3 of 20<\/strong>/, 'the org holds three');
    assert.doesNotMatch(mine.text, /chart-days|chart-owners|github-1002/, 'no team figures for a user');

    const admin = await h.open(carol, '/usage');
    assert.match(admin.text, /id="chart-days"/);
    assert.match(admin.text, /id="chart-owners"/);
    // Owners by their GitHub login (from their sign-in), the immutable id beside it; bob never signed in here.
    assert.match(admin.text, /<td data-label="Owner"><span class="v">alice \(github-1001\)<\/span><\/td>/);
    assert.match(admin.text, /<td data-label="Owner"><span class="v">github-1002<\/span><\/td>/);
    const december = await h.open(carol, '/usage?month=2025-12');
    assert.match(december.text, /Nobody has used a box this month yet\./, 'an empty month says so');
  });

  it('pool: idle, assigned and provisioning machines per pool and the claim latency', async () => {
    const page = await h.open(carol, '/pool');
    const pool = /<section class="card" data-pool="warm"[\s\S]*?<\/section>/.exec(page.text)?.[0] ?? '';
    assert.ok(pool, page.text.slice(0, 500));
    const count = (state: string) => Number(new RegExp(`data-state="${state}"><strong>(\\d+)</strong>`).exec(pool)?.[1]);
    assert.deepEqual([count('idle'), count('assigned'), count('provisioning')], [2, 1, 0]);
    assert.match(pool, /<dd data-claims>1<\/dd>/);
    assert.match(pool, /<dt>Latency<\/dt><dd>p50 \d+ ms · p95 \d+ ms · max \d+ ms<\/dd>/);
    assert.doesNotMatch(pool, /Drained by an admin/);
  });

  it('pool: a pool an admin drained says so, and how to resume it', async () => {
    // Its own coordinator: draining deletes the pool's idle machines, which the other tests count.
    const d = await dashHarness({ admins: ['github-1003'], clock: new ManualClock(Date.UTC(2026, 0, 1)), config: { pools: [poolConfig({ name: 'warm', provider: 'fake', class: 'standard', min: 2, max: 4, users: true })] } });
    try {
      await seedDashboard(d);
      const admin = await d.userToken('carol', { owner: 'github-1003', org: 'acme' });
      assert.equal((await d.request('POST', '/v1/admin/pools/warm/drain', { token: admin })).status, 200);
      const pool = /<section class="card" data-pool="warm"[\s\S]*?<\/section>/.exec((await d.open(await d.signIn('carol'), '/pool')).text)?.[0] ?? '';
      assert.match(pool, /Drained by an admin: no refills; its machines are deleted once free\. <code>crabbox admin undrain --pool warm<\/code> resumes it\./);
      assert.doesNotMatch(pool, /at its maximum/);
    } finally {
      await d.close();
    }
  });

  it('audit: filtered by type, lease, UTC days and (admins) owner; a user sees only her own events whatever she asks', async () => {
    const released = rows((await h.open(carol, '/audit?type=lease.released')).text, 'data-type');
    assert.ok(released.length > 10);
    assert.ok(released.every((r) => r.startsWith('<tr data-type="lease.released"')));

    const lease = seed.aliceLeases[0]!;
    const ofLease = rows((await h.open(alice, `/audit?lease=${lease.slug}`)).text, 'data-type');
    assert.ok(ofLease.length >= 3);
    assert.ok(ofLease.every((r) => cell(r, 'Lease') === lease.id), 'by slug, only that lease');

    const day = rows((await h.open(carol, '/audit?from=2026-01-19&to=2026-01-19')).text, 'data-type');
    assert.ok(day.length > 0);
    assert.ok(day.every((r) => cell(r, 'When').startsWith('2026-01-19 ')), day.map((r) => cell(r, 'When')).join(', '));
    const window = rows((await h.open(carol, '/audit?from=2026-01-20')).text, 'data-type');
    assert.ok(window.every((r) => Date.parse(cell(r, 'When').replace(' UTC', 'Z').replace(' ', 'T')) >= Date.UTC(2026, 0, 20)));

    const bobs = rows((await h.open(carol, '/audit?owner=github-1002&type=lease.created')).text, 'data-type');
    assert.ok(bobs.length > 5);
    assert.ok(bobs.every((r) => cell(r, 'Owner') === 'github-1002'));

    const asAlice = (await h.open(alice, '/audit?owner=github-1002&type=lease.created')).text;
    assert.doesNotMatch(asAlice, /name="owner"/, 'no owner filter for a user');
    assert.doesNotMatch(asAlice, new RegExp(seed.bobLease.id));
    assert.ok(rows(asAlice, 'data-type').length > 5, 'her own lease.created events');
  });

  it("an admin opens anyone's lease by URL and can release it from its page; the owner's own pages stay hers", async () => {
    const made = await h.request('POST', '/v1/leases', { token: seed.tokens.bob, body: { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t' } });
    assert.equal(made.status, 201);
    const lease = made.json.lease as { id: string; slug: string };
    const page = await h.open(carol, `/leases/${lease.id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<dt>Owner<\/dt><dd>github-1002 /);
    assert.match(page.text, new RegExp(`<form method="post" action="/leases/${lease.id}/release">`));
    const released = await h.submit(carol, `/leases/${lease.id}/release`);
    assert.equal(released.status, 303);
    assert.equal(released.headers.get('location'), `/?released=${lease.slug}`);
    assert.equal((await h.store.getLease(lease.id))?.state, 'released');
    assert.equal((await h.open(alice, `/leases/${lease.id}`)).status, 404, 'still nobody else\'s business');
  });

  it("a lease's timeline runs from its creation to its machine's deletion", async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await h.request(method, path, { token: seed.tokens.alice, body });
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json;
    };
    const { lease } = await call('POST', '/v1/leases', { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0c3RrZXlzdHVmZmZvcnRlc3RzMDEyMzQ1Njc4 t' });
    const { run } = await call('POST', '/v1/runs', { leaseId: lease.id, command: 'make' });
    await call('POST', `/v1/runs/${run.id}/finish`, { exitCode: 0 });
    await call('POST', `/v1/leases/${lease.id}/release`);
    const page = await h.open(alice, `/leases/${lease.slug}`);
    assert.equal(page.status, 200);
    const types = [...page.text.matchAll(/<li data-type="([a-z_.]+)"/g)].map((m) => m[1]);
    assert.equal(types[0], 'lease.created', types.join(' '));
    for (const t of ['machine.provisioned', 'machine.assigned', 'run.created', 'run.finished', 'lease.released']) assert.ok(types.includes(t), `${t} in ${types.join(' ')}`);
    assert.equal(types.at(-1), 'machine.deleted', types.join(' '));
  });
});

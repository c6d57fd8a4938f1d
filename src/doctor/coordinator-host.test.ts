import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../domain/exit-codes.ts';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';

/** Issue 22 findings 5 and 9 as an operator meets them: `crabbox doctor` and `crabbox coordinator serve`. */
const dir = tempDir('crabbox-doctor-coord-');
after(() => dir.remove());
let n = 0;

/** A coordinator host: its own home, a private config dir, and the database in `dbDir` made with `dbMode`. */
function host(dbMode: number, extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; db: string; dbDir: string } {
  const root = join(dir.path, `host-${++n}`);
  mkdirSync(join(root, 'config', 'crabbox'), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), 'lease:\n  ttl: 1h\n', { mode: 0o600 });
  const dbDir = join(root, 'db');
  mkdirSync(dbDir);
  chmodSync(dbDir, dbMode);
  const db = join(dbDir, 'coordinator.sqlite');
  return { env: isolatedEnv(root, { CRABBOX_COORDINATOR_DB: db, ...extra }), db, dbDir };
}

type Report = { ok: boolean; checks: { name: string; ok: boolean; warning?: boolean; detail: string; fix?: string }[] };
const doctor = async (env: NodeJS.ProcessEnv) => {
  const result = await runCli(['doctor', '--json'], { env, cwd: dir.path });
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
};
const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describe('doctor and serve on a coordinator host', () => {
  it('doctor fails a database directory others can write, and serve refuses to start there (78, one line)', async () => {
    const { env, db, dbDir } = host(0o777);
    const { code, report } = await doctor(env);
    assert.equal(code, ExitCode.config);
    assert.match(check(report, 'coordinator database')!.detail, new RegExp(`coordinator serve refuses it: the database directory ${dbDir} is 0777: others can create or replace the database files`));
    const serve = await runCli(['coordinator', 'serve', '--port', '0'], { env: { ...env, CRABBOX_SHARED_TOKEN: 'a-shared-token-0123456789' } });
    assert.equal(serve.code, ExitCode.config);
    assert.equal(serve.stderr.trim().split('\n').length, 1, serve.stderr);
    assert.match(serve.stderr, /^crabbox: refusing to open the coordinator database .*coordinator\.sqlite: the database directory .* is 0777/);
    assert.equal(existsSync(db), false, 'nothing was created in it');
  });

  it('doctor flags database files readable by others; serve fixes them to 0600 and says so', async () => {
    const { env, db } = host(0o700);
    writeFileSync(db, '', { mode: 0o644 });
    chmodSync(db, 0o644);
    const { code, report } = await doctor(env);
    assert.equal(code, ExitCode.config);
    const found = check(report, 'coordinator database')!;
    assert.equal(found.detail, `readable by others: ${db} is 0644`);
    assert.match(found.fix!, /^chmod 600 .*coordinator\.sqlite \(coordinator serve also fixes them when it starts\)$/);
    // Serve fixes the mode before SQLite opens the file; the store open alone is enough to show it.
    const { openSqliteStore } = await import('../storage/sqlite.ts');
    const warnings: string[] = [];
    await (await openSqliteStore({ path: db, now: 0, onWarning: (w) => warnings.push(w) })).close();
    assert.equal(statSync(db).mode & 0o777, 0o600);
    assert.deepEqual(warnings, [`${db} was 0644; set to 0600`]);
    const again = await doctor(env);
    assert.equal(check(again.report, 'coordinator database')!.ok, true);
  });

  it('a listable directory is a warning, not a failure; a private one is ok', async () => {
    const listable = host(0o755);
    const warned = await doctor(listable.env);
    assert.equal(warned.code, 0, JSON.stringify(warned.report));
    assert.deepEqual([check(warned.report, 'coordinator database')!.ok, check(warned.report, 'coordinator database')!.warning], [true, true]);
    const text = await runCli(['doctor'], { env: listable.env, cwd: dir.path });
    assert.match(text.stdout, /^warn coordinator database: the database directory .* is 0755: others can see which files it holds/m);
    const quiet = await doctor(host(0o700).env);
    assert.match(check(quiet.report, 'coordinator database')!.detail, /not created yet; its directory is private/);
  });

  it('doctor warns when GitHub login is on and admins/maintainers name logins instead of github-<id>', async () => {
    const { env } = host(0o700, {
      CRABBOX_SESSION_SECRET: 's'.repeat(40), CRABBOX_GITHUB_CLIENT_ID: 'Iv1.x', CRABBOX_GITHUB_CLIENT_SECRET: 'c'.repeat(20), CRABBOX_GITHUB_ORGS: 'acme',
      CRABBOX_PUBLIC_URL: 'https://crabbox.example.com', CRABBOX_COORDINATOR_ADMINS: 'alice,github-1002', CRABBOX_COORDINATOR_MAINTAINERS: 'bob',
    });
    const { code, report } = await doctor(env);
    assert.equal(code, 0);
    const config = check(report, 'coordinator config')!;
    assert.equal(config.warning, true);
    assert.match(config.detail, /^admins\/maintainers "alice", "bob" grant nothing to GitHub logins, which match by immutable id only/);
  });

  it('serve logs, at start, what it fixed, a listable directory and allowlist entries that grant GitHub logins nothing', async () => {
    const { env, db } = host(0o750, {
      CRABBOX_SHARED_TOKEN: 'a-shared-token-0123456789', CRABBOX_SESSION_SECRET: 's'.repeat(40), CRABBOX_GITHUB_CLIENT_ID: 'Iv1.x',
      CRABBOX_GITHUB_CLIENT_SECRET: 'c'.repeat(20), CRABBOX_GITHUB_ORGS: 'acme', CRABBOX_PUBLIC_URL: 'https://crabbox.example.com', CRABBOX_COORDINATOR_ADMINS: 'alice',
    });
    writeFileSync(db, '', { mode: 0o640 });
    chmodSync(db, 0o640);
    const [{ loadServeSettings }, { startCoordinator }, { ManualClock }] = await Promise.all([import('../coordinator/load-config.ts'), import('../coordinator/entry/node.ts'), import('../domain/clock.ts')]);
    const warned: string[] = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (m: string) => void warned.push(m) };
    const running = await startCoordinator({ settings: { ...loadServeSettings(env), port: 0 }, providers: {}, clock: new ManualClock(0), logger });
    await running.close();
    assert.equal(warned.length, 3, warned.join('\n'));
    assert.match(warned[0]!, /the database directory .* is 0750: others can see which files it holds/);
    assert.equal(warned[1], `${db} was 0640; set to 0600`);
    assert.match(warned[2]!, /^admins\/maintainers "alice" grant nothing to GitHub logins/);
    assert.equal(statSync(db).mode & 0o777, 0o600);
  });

  it('a laptop without a coordinator gets no coordinator-host checks', async () => {
    const root = join(dir.path, 'laptop');
    mkdirSync(join(root, 'config', 'crabbox'), { recursive: true, mode: 0o700 });
    const { report } = await doctor(isolatedEnv(root));
    assert.equal(check(report, 'coordinator database'), undefined);
    assert.equal(check(report, 'coordinator config'), undefined);
  });
});

describe('doctor on a coordinator host with a warm pool (issue 15)', () => {
  const poolHost = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const { env } = host(0o700);
    const config = join(dir.path, `pool-${n}.yaml`);
    writeFileSync(config, 'pools:\n  local-warm:\n    provider: local\n    min: 1\n    max: 2\n', { mode: 0o600 });
    return { ...env, CRABBOX_COORDINATOR_CONFIG: config, ...extra };
  };

  it('warns when a pool is enabled without an SSH CA, and not once the CA key is set', async () => {
    const without = await doctor(poolHost());
    const warned = check(without.report, 'coordinator config')!;
    assert.equal(warned.warning, true);
    assert.match(warned.detail, /warm pool local-warm without an SSH CA: .* set CRABBOX_SSH_CA_KEY_FILE/);
    const key = join(dir.path, `ca-${n}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const withCa = await doctor(poolHost({ CRABBOX_SSH_CA_KEY_FILE: key }));
    const quiet = check(withCa.report, 'coordinator config')!;
    assert.equal(quiet.warning, undefined, quiet.detail);
    assert.equal(quiet.detail, 'no warnings');
  });
});

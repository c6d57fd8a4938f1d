// Every data command's `--json` output, in direct mode (local provider) and brokered mode (a real coordinator), is
// validated against the published JSON Schema in docs/schemas/ that its `schema` field names; both modes print the same
// documents. The drift the defects issue found (brokered history slug/provider/junit, results failed cases as strings,
// whoami epoch times) is checked by name as well.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runBin, type CliResult } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';

const SCHEMAS = fileURLToPath(new URL('../../docs/schemas/', import.meta.url));
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validators = new Map(readdirSync(SCHEMAS).filter((f) => f.endsWith('.v1.json')).map((f) => [f.replace(/\.v1\.json$/, ''), ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')))]));

const JUNIT = '<testsuite name="s" tests="2" failures="1"><testcase name="ok" classname="c"/><testcase name="bad" classname="c" file="t.js" line="3"><failure message="boom">x</failure></testcase></testsuite>';

/** Parses a command's stdout as one document and validates it against the schema file its `schema` field names. */
function validate(label: string, r: CliResult): { name: string; doc: Record<string, any> } {
  let doc: Record<string, any>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, any>;
  } catch {
    assert.fail(`${label}: stdout is not one JSON document (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
  const m = /^crabbox\.([a-z-]+)\/v1$/.exec(String(doc.schema));
  assert.ok(m, `${label}: no "schema" field: ${r.stdout.slice(0, 200)}`);
  const check = validators.get(m[1]!);
  assert.ok(check, `${label}: docs/schemas/${m[1]}.v1.json is missing`);
  assert.ok(check(doc), `${label}: does not match docs/schemas/${m[1]}.v1.json: ${ajv.errorsText(check.errors)}\n${r.stdout.slice(0, 500)}`);
  if (m[1] === 'error') assert.equal(doc.exitCode, r.code, `${label}: the error document's exitCode is the exit code`);
  return { name: m[1]!, doc };
}

/** Runs every data command of one mode with --json; returns command label -> document name. */
async function everyCommand(cli: (argv: string[], stdin?: string) => Promise<CliResult>, mode: 'direct' | 'brokered'): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const json = async (label: string, argv: string[], stdin?: string) => {
    // --json goes before `--`: what follows it is the remote command.
    const at = argv.includes('--') ? argv.indexOf('--') : argv.length;
    const r = await cli([...argv.slice(0, at), '--json', ...argv.slice(at)], stdin);
    const { name, doc } = validate(`${mode} ${label}`, r);
    seen.set(label, name);
    return doc;
  };
  await json('version', ['version']);
  await json('config show', ['config', 'show']);
  await json('config path', ['config', 'path']);
  await json('doctor', ['doctor']);
  await json('sync-plan', ['sync-plan']);
  const lease = await json('warmup', ['warmup']);
  await json('list', ['list']);
  await json('status', ['status', lease.slug]);
  await json('status --wait', ['status', lease.slug, '--wait']);
  await json('heartbeat', ['heartbeat', lease.id]);
  const run = await json('run', ['run', '--id', lease.slug, '--junit', 'junit.xml', '--', 'sh', '-c', `printf '%s' '${JUNIT}' > junit.xml; echo out; exit 2`]);
  assert.equal(run.exitCode, 2);
  await json('run (bad flag)', ['run', '--lock-wait', 'soon', '--', 'true']);
  const history = await json('history', ['history', '--lease', lease.slug]);
  const entry = history.runs.find((h: { id: string }) => h.id === run.runId);
  // The drift of the defects issue: the slug is the slug, the provider is named, JUnit counts are kept.
  assert.deepEqual([entry?.slug, entry?.leaseId, entry?.provider, entry?.junit?.tests], [lease.slug, lease.id, 'local', 2], `${mode} history entry`);
  const results = await json('results', ['results', run.runId]);
  assert.equal(typeof results.junit.failed[0], 'object', `${mode}: failed cases are objects`);
  assert.deepEqual([results.junit.failed[0].name, results.junit.failed[0].file, results.junit.failed[0].line], ['bad', 't.js', 3]);
  await json('logs', ['logs', run.runId]);
  await json('logs (unknown run)', ['logs', 'run_000000000000']);
  const second = await json('warmup (second)', ['warmup']);
  await json('stop', ['stop', lease.slug]);
  await json('stop (several)', ['stop', second.id, lease.id]);
  await json('cleanup --dry-run', ['cleanup', '--dry-run']);
  await json('cleanup', ['cleanup']);
  await json('status (bad ref)', ['status', '../etc']);
  if (mode === 'direct') {
    for (const command of [['usage'], ['events'], ['pool'], ['whoami'], ['admin', 'leases']]) await json(`${command.join(' ')} (needs a coordinator)`, command);
  } else {
    const who = await json('whoami', ['whoami']);
    assert.match(String(who.expiresAt ?? '2026-01-01T00:00:00.000Z'), /^\d{4}-\d\d-\d\dT/, 'whoami times are ISO 8601');
    await json('usage', ['usage']);
    await json('usage --all', ['usage', '--all']);
    await json('events', ['events', '--lease', lease.id]);
    await json('pool', ['pool', '--state', 'all']);
    await json('admin leases', ['admin', 'leases', '--state', 'all']);
    await json('admin events', ['admin', 'events', '--limit', '5']);
    await json('admin drain --off', ['admin', 'drain', '--off']);
    const third = await json('warmup (third)', ['warmup']);
    const machines = await json('admin machines', ['admin', 'machines']);
    const machine = (machines.machines as { id: string; leaseId?: string }[]).find((m) => m.leaseId === third.id);
    assert.ok(machine, 'the third lease has a machine');
    await json('admin drain <machine>', ['admin', 'drain', machine.id]);
    await json('admin undrain <machine>', ['admin', 'undrain', machine.id]);
    await json('admin events --machine', ['admin', 'events', '--machine', machine.id]);
    await json('admin release', ['admin', 'release', third.id]);
  }
  await json('logout', ['logout']);
  return seen;
}

describe('--json documents match docs/schemas/ in both modes', () => {
  const sandbox = runSandbox({ prefix: 'crabbox-e2e-schemas-' });
  const repo = join(sandbox.path, 'repo');
  const SHARED = 'schemas-e2e-shared-token-0123456789ab';
  const SECRET = 'schemas-e2e-session-secret-0123456789abcdef';
  let coordinator: ServeProcess;
  let brokeredEnv: NodeJS.ProcessEnv | undefined;

  before(async () => {
    initRepo(repo, { 'a.txt': 'a\n' });
    writeFileSync(join(sandbox.path, 'coordinator.yaml'), 'admins: [schemas-admin]\n');
    const coordEnv = isolatedEnv(join(sandbox.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: SECRET, CRABBOX_COORDINATOR_CONFIG: join(sandbox.path, 'coordinator.yaml') });
    coordinator = await startServe(coordEnv, ['--db', join(sandbox.path, 'coordinator.sqlite'), '--providers', 'local']);
  });
  after(async () => {
    for (const env of [sandbox.env, brokeredEnv]) {
      if (!env) continue;
      const list = await runBin(['list', '--json'], { env, cwd: repo }).catch(() => undefined);
      if (list?.code === 0) for (const l of (JSON.parse(list.stdout) as { leases: { id: string }[] }).leases) await runBin(['stop', l.id], { env, cwd: repo });
    }
    await coordinator?.stop();
    await sandbox.remove();
  });

  it('every data command validates in direct and in brokered mode, and prints the same document in both', async () => {
    const direct = await everyCommand((argv, stdin) => runBin(argv, { env: sandbox.env, cwd: repo, stdin, timeoutMs: 120_000 }), 'direct');

    const issue = await runBin(['coordinator', 'issue-token', '--login', 'schemas-admin', '--ttl', '1d', '--json'], { env: isolatedEnv(join(sandbox.path, 'issuer'), { CRABBOX_SESSION_SECRET: SECRET }) });
    const token = validate('coordinator issue-token', issue).doc.token as string;
    validate('coordinator init-secrets', await runBin(['coordinator', 'init-secrets', '--dir', join(sandbox.path, 'secrets'), '--json'], { env: sandbox.env }));
    const env = { ...sandbox.env, CRABBOX_COORDINATOR: coordinator.url, CRABBOX_COORDINATOR_TOKEN: token };
    brokeredEnv = env;
    const brokered = await everyCommand((argv, stdin) => runBin(argv, { env, cwd: repo, stdin, timeoutMs: 120_000 }), 'brokered');

    const differ = [...direct].filter(([label, name]) => brokered.has(label) && brokered.get(label) !== name && name !== 'error');
    assert.deepEqual(differ, [], 'the same command prints the same document in both modes');
    assert.ok(direct.size >= 25 && brokered.size >= 30, `ran ${direct.size} direct and ${brokered.size} brokered commands`);
  });
});

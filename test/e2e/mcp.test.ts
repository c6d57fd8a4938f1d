// `crabbox mcp` end to end: an MCP client from the official SDK spawns the built bin over stdio and drives
// warmup -> run (output as progress notifications before the result) -> results -> logs -> stop, on the local provider
// (real sshd, rsync, git) in direct mode and through a real coordinator.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN, runBin } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { runReportJson, stopJson } from '../../src/api/shapes-team.ts';
import { historyJson, leaseJson, leaseListJson, logsJson, resultsJson } from '../../src/api/shapes.ts';

const SECRET = 'mcp-e2e-secret-value-7f3a9c';
const JUNIT = '<testsuite name="suite" tests="2" failures="1"><testcase name="passes" classname="c"/><testcase name="fails" classname="c"><failure message="boom">expected 1</failure></testcase></testsuite>';
const SCRIPT = `echo "hello from the box"; echo "secret=$MCP_E2E_SECRET"; cat file.txt; printf '%s' '${JUNIT}' > junit.xml; echo to-stderr >&2; printf 'last words, no newline'; exit 3`;

/** What arrived on the wire, in order: progress notifications (by token) and responses (by request id). */
type WireEvent = { kind: 'progress'; token: string; message: string } | { kind: 'response'; id: string };

/**
 * An MCP client connected to `crabbox mcp` run as a child process with this env and working directory. `wire` records
 * every message as it arrives, before the SDK client dispatches it: the client runs notification handlers a microtask
 * later than response handlers, so a progress notification read in the same chunk as its response reaches `onprogress`
 * after the request is settled and is dropped. The wire order is what the server controls.
 */
async function connect(env: NodeJS.ProcessEnv, cwd: string): Promise<{ client: Client; stderr: () => string; wire: WireEvent[] }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: env as Record<string, string>, cwd, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const client = new Client({ name: 'crabbox-e2e', version: '1.0.0' });
  await client.connect(transport);
  const wire: WireEvent[] = [];
  const dispatch = transport.onmessage!;
  transport.onmessage = (message) => {
    const m = message as { method?: string; id?: unknown; params?: { progressToken?: unknown; message?: string } };
    if (m.method === 'notifications/progress') wire.push({ kind: 'progress', token: String(m.params?.progressToken), message: m.params?.message ?? '' });
    else if (m.id !== undefined && m.method === undefined) wire.push({ kind: 'response', id: String(m.id) });
    dispatch(message);
  };
  return { client, stderr: () => err, wire };
}

/**
 * Calls a tool with a progress token; returns the result and the progress messages of this call as they arrived on
 * the wire, and how many arrived before its response. A `list` round trip afterwards flushes anything sent late.
 */
async function call(client: Client, wire: WireEvent[], name: string, args: Record<string, unknown>): Promise<{ result: CallToolResult; progress: string[]; progressBeforeResult: number }> {
  const from = wire.length;
  const result = (await client.callTool({ name, arguments: args }, undefined, { onprogress: () => undefined, timeout: 240_000, resetTimeoutOnProgress: true })) as CallToolResult;
  if (name !== 'list') await client.callTool({ name: 'list', arguments: {} });
  const mine = wire.slice(from);
  const token = mine.find((e) => e.kind === 'progress')?.token;
  const progress = mine.filter((e): e is Extract<WireEvent, { kind: 'progress' }> => e.kind === 'progress' && e.token === token).map((e) => e.message);
  const answered = token === undefined ? mine.length : mine.findIndex((e) => e.kind === 'response' && e.id === token);
  const progressBeforeResult = mine.slice(0, answered === -1 ? mine.length : answered).filter((e) => e.kind === 'progress' && e.token === token).length;
  return { result, progress, progressBeforeResult };
}

const structured = <T>(r: CallToolResult): T => {
  assert.notEqual(r.isError, true, JSON.stringify(r.content));
  return r.structuredContent as T;
};

/** The error document a failed tool call carries as its text. */
function toolError(r: CallToolResult): { error: string; message: string; hint?: string; exitCode: number } {
  assert.equal(r.isError, true, JSON.stringify(r));
  assert.equal(r.structuredContent, undefined);
  const text = (r.content[0] as { text: string }).text;
  assert.doesNotMatch(text, /\n\s+at |node:internal|\.ts:\d+/, 'no stack trace');
  return JSON.parse(text) as ReturnType<typeof toolError>;
}

/** Stops whatever a failed test left (before the client closes), so no box outlives the test. */
async function stopAll(client: Client | undefined): Promise<void> {
  if (!client) return;
  const listed = await client.callTool({ name: 'list', arguments: {} }).catch(() => undefined);
  const leases = (listed?.structuredContent as { leases?: { id: string }[] } | undefined)?.leases ?? [];
  for (const l of leases) await client.callTool({ name: 'stop', arguments: { lease: l.id } }).catch(() => undefined);
  await client.close();
}

/** The loop an agent runs for one task, checked at every step. */
async function agentLoop(client: Client, wire: WireEvent[], mode: string): Promise<void> {
  const warm = await call(client, wire, 'warmup', {});
  const lease = leaseJson.parse(structured(warm.result));
  assert.equal(lease.state, 'active', mode);

  const listed = leaseListJson.parse(structured((await call(client, wire, 'list', {})).result));
  assert.ok(listed.leases.some((l) => l.id === lease.id), `${mode}: list shows the warm lease`);
  assert.equal(leaseJson.parse(structured((await call(client, wire, 'status', { lease: lease.slug })).result)).id, lease.id);

  const run = await call(client, wire, 'run', { command: ['sh', '-c', SCRIPT], lease: lease.slug, junit: ['junit.xml'] });
  const report = runReportJson.parse(structured(run.result));
  assert.equal(report.result.exitCode, 3, `${mode}: the command's exit code`);
  assert.equal(report.result.source, 'remote');
  assert.equal(report.result.lease?.id, lease.id);
  assert.equal(report.result.lease?.released, false, 'a named lease is never released by a run');
  assert.deepEqual(report.failedTests.map((f) => [f.suite, f.name, f.message]), [['suite', 'fails', 'boom']]);
  assert.equal(report.result.junit?.failures, 1);
  assert.match(report.outputTail.text, /hello from the box[\s\S]*from the checkout[\s\S]*to-stderr/);
  // Streaming: the output arrived as progress notifications, all of them before the result.
  const streamed = run.progress.join('');
  assert.match(streamed, /hello from the box/, `${mode}: output streamed as progress`);
  assert.match(streamed, /to-stderr/);
  assert.match(streamed, /last words, no newline$/, `a last line without a newline is flushed, before the result; tail: ${JSON.stringify(report.outputTail.text)} progress: ${JSON.stringify(run.progress)}`);
  assert.equal(run.progressBeforeResult, run.progress.length, 'no notification arrives after the result');
  // Redaction: the forwarded secret appears nowhere an agent can read it.
  for (const text of [streamed, report.outputTail.text, JSON.stringify(run.result)]) {
    assert.ok(!text.includes(SECRET), `${mode}: the secret is redacted`);
  }
  assert.match(report.outputTail.text, /secret=\[redacted\]/);

  const runId = report.result.runId!;
  const results = resultsJson.parse(structured((await call(client, wire, 'results', { runId })).result));
  assert.equal(results.junit?.failed[0]?.name, 'fails');
  const logs = logsJson.parse(structured((await call(client, wire, 'logs', { runId })).result));
  assert.match(logs.logTail.text, /hello from the box/);
  assert.ok(!logs.logTail.text.includes(SECRET));
  const history = historyJson.parse(structured((await call(client, wire, 'history', { lease: lease.slug })).result));
  assert.equal(history.runs[0]?.id, runId);

  const stopped = stopJson.parse(structured((await call(client, wire, 'stop', { lease: lease.slug })).result));
  assert.deepEqual([stopped.id, stopped.result], [lease.id, 'released']);
  const again = stopJson.parse(structured((await call(client, wire, 'stop', { lease: lease.id })).result));
  assert.equal(again.result, 'already-gone', `${mode}: stop is idempotent`);
}

describe('crabbox mcp (direct mode, local provider)', () => {
  const sandbox = runSandbox({ prefix: 'crabbox-e2e-mcp-', config: 'env:\n  allow: [MCP_E2E_SECRET]\n' });
  const repo = join(sandbox.path, 'repo');
  let client: Client;
  let stderr: () => string;
  let wire: WireEvent[];

  before(async () => {
    initRepo(repo, { 'file.txt': 'from the checkout\n' });
    ({ client, stderr, wire } = await connect({ ...sandbox.env, MCP_E2E_SECRET: SECRET }, repo));
  });
  after(async () => {
    await stopAll(client);
    await sandbox.remove();
  });

  it('lists the tools with descriptions, input and output schemas, and honest annotations', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['history', 'list', 'logs', 'results', 'run', 'status', 'stop', 'warmup']);
    for (const t of tools) {
      assert.ok((t.description ?? '').length > 60, `${t.name} is described for a model`);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(t.outputSchema?.type, 'object', `${t.name} has an output schema`);
    }
    const by = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    assert.deepEqual([by.stop?.destructiveHint, by.stop?.idempotentHint, by.stop?.readOnlyHint], [true, true, false]);
    assert.deepEqual([by.list?.readOnlyHint, by.list?.destructiveHint], [true, false]);
    assert.deepEqual([by.run?.openWorldHint, by.run?.readOnlyHint], [true, false]);
    for (const name of ['status', 'logs', 'results', 'history']) assert.equal(by[name]?.readOnlyHint, true, name);
    // Nothing reads arbitrary local files: no tool takes a local path.
    for (const t of tools) assert.doesNotMatch(JSON.stringify(t.inputSchema), /resultFile|"path"|"file"|"dir"|"cwd"/, t.name);
  });

  it('drives warmup, run (streamed), results, logs, history and stop', async () => {
    await agentLoop(client, wire, 'direct');
  });

  it('a cancelled run stops the command, records the run as interrupted and releases its fresh box', async () => {
    const controller = new AbortController();
    const progress: string[] = [];
    const started = new Promise<void>((resolve) => {
      void client.callTool({ name: 'run', arguments: { command: ['sh', '-c', 'echo started; sleep 300'] } }, undefined, {
        signal: controller.signal, timeout: 240_000,
        onprogress: (p) => {
          progress.push(p.message ?? '');
          if (/started/.test(p.message ?? '')) resolve();
        },
      }).catch(() => undefined);
    });
    await started;
    controller.abort('the agent changed its mind');
    // The server ends the run in order (SIGINT to the command, record, release); wait for both, bounded.
    let history: { runs: { state: string }[] } = { runs: [] };
    let active: unknown[] = [];
    for (let i = 0; i < 150; i++) {
      history = structured((await client.callTool({ name: 'history', arguments: { limit: 1 } })) as CallToolResult);
      active = leaseListJson.parse(structured((await client.callTool({ name: 'list', arguments: {} })) as CallToolResult)).leases.filter((l) => l.state === 'active');
      if (history.runs[0]?.state === 'interrupted' && active.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(history.runs[0]?.state, 'interrupted', JSON.stringify(history.runs[0]));
    assert.deepEqual(active, [], 'the fresh lease was released');
  });

  it('answers bad input and failures as isError results with a code and a message, never a stack trace', async () => {
    const missing = toolError((await call(client, wire, 'status', { lease: 'cbx_0123456789ab' })).result);
    assert.equal(missing.error, 'lease_not_found');
    assert.equal(missing.exitCode, 66);
    const bad = toolError((await call(client, wire, 'run', { command: [] })).result);
    assert.equal(bad.error, 'bad_request');
    assert.match(bad.message, /^run: command: /);
    const hostile = toolError((await call(client, wire, 'stop', { lease: '../../etc' })).result);
    assert.equal(hostile.error, 'bad_request');
    const unknown = toolError((await call(client, wire, 'download', {})).result);
    assert.match(unknown.message, /no tool "download"/);
    assert.doesNotMatch(stderr(), /\n\s+at /, 'no stack trace on the server\'s stderr either');
  });
});

describe('crabbox mcp (brokered mode, a real coordinator)', () => {
  const SHARED = 'mcp-e2e-shared-token-0123456789abcdef';
  const sandbox = runSandbox({ prefix: 'crabbox-e2e-mcp-brokered-', config: 'env:\n  allow: [MCP_E2E_SECRET]\n' });
  const repo = join(sandbox.path, 'repo');
  let coordinator: ServeProcess;
  let client: Client;
  let wire: WireEvent[];

  before(async () => {
    initRepo(repo, { 'file.txt': 'from the checkout\n' });
    const coordEnv = isolatedEnv(join(sandbox.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_SESSION_SECRET: 'mcp-e2e-session-secret-0123456789abcdef' });
    coordinator = await startServe(coordEnv, ['--db', join(sandbox.path, 'coordinator.sqlite'), '--providers', 'local']);
    const env = { ...sandbox.env, CRABBOX_COORDINATOR: coordinator.url, CRABBOX_COORDINATOR_TOKEN: SHARED, CRABBOX_OWNER: 'mcp-agent', MCP_E2E_SECRET: SECRET };
    const who = await runBin(['whoami', '--json'], { env, cwd: repo });
    assert.equal(who.code, 0, who.stderr);
    ({ client, wire } = await connect(env, repo));
  });
  after(async () => {
    await stopAll(client);
    await coordinator?.stop();
    await sandbox.remove();
  });

  it('drives the same loop through the coordinator, with the same shapes', async () => {
    await agentLoop(client, wire, 'brokered');
  });
});

// The Worker target of the coordinator tests: the test Worker (src/coordinator/entry/worker-testing.ts) bundled once
// per test process and run in workerd through Miniflare, no network. One workerd serves every harness in the process,
// each in a Durable Object of its own; it is disposed when the process's tests end (testkit.ts registers that).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildWorker, ROOT } from '../../scripts/worker-build.ts';

/** The compatibility settings of the deployed Worker (wrangler.jsonc), so tests run what production runs. */
export const COMPATIBILITY_DATE = '2026-07-01';
export const COMPATIBILITY_FLAGS = ['nodejs_compat'];

let running: Promise<{ mf: Miniflare; dir: string }> | undefined;

async function start(): Promise<{ mf: Miniflare; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-workerd-'));
  const outfile = join(dir, 'worker.js');
  await buildWorker({
    entry: join(ROOT, 'src/coordinator/entry/worker-testing.ts'),
    outfile,
    alias: { 'node:test': join(ROOT, 'src/testing/node-test-collector.ts') },
    allowNodeImports: ['node:assert/strict', 'node:assert'],
  });
  const mf = new Miniflare({
    modules: true,
    scriptPath: outfile,
    modulesRoot: dir,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: COMPATIBILITY_FLAGS,
    durableObjects: { FLEET: { className: 'TestFleet', useSQLite: true }, CONTRACT: { className: 'ContractHost', useSQLite: true } },
  });
  await mf.ready;
  return { mf, dir };
}

/** A request to the test Worker (starting workerd on first use). */
export async function workerFetch(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  running ??= start();
  const { mf } = await running;
  return (await mf.dispatchFetch(url, { ...init, redirect: 'manual' } as never)) as unknown as Response;
}

/** The URL workerd listens on (for clients outside this process, such as the CLI). */
export async function workerUrl(): Promise<string> {
  running ??= start();
  return (await (await running).mf.ready).href.replace(/\/$/, '');
}

export async function stopWorkerd(): Promise<void> {
  const current = running;
  running = undefined;
  if (!current) return;
  const { mf, dir } = await current.catch(() => ({ mf: undefined, dir: undefined }));
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

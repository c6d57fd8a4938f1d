import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { buildWorker, nodeImports, ROOT } from '../../scripts/worker-build.ts';

/** Every source file createApp pulls in, and every import of a Node built-in among them (bundled for the neutral platform). */
async function appGraph(): Promise<{ files: string[]; nodeImports: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, 'src/coordinator/app.ts')], bundle: true, write: false, platform: 'neutral', format: 'esm', metafile: true, logLevel: 'silent',
    mainFields: ['module', 'main'], conditions: ['workerd', 'worker', 'browser'], external: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'net'],
  });
  return { files: Object.keys(result.metafile.inputs), nodeImports: nodeImports(result.metafile) };
}

// Module-level state the shared app may still hold: the redaction registry, which the CLI process fills and the app
// only reads (it keeps its own secrets in its config, redaction.ts). Immutable lookup tables are not state.
const PROCESS_WIDE = new Set(['src/redact/redact.ts']);

describe('the shared coordinator runs on Node and Workers alike', () => {
  it('nothing createApp imports, transitively, uses a Node built-in, Buffer, process or a child process', async () => {
    const graph = await appGraph();
    assert.deepEqual(graph.nodeImports, [], 'node built-ins imported by the shared app');
    const sources = graph.files.filter((f) => f.startsWith('src/'));
    assert.ok(sources.includes('src/coordinator/routes/leases.ts') && !sources.includes('src/storage/sql/drivers/node-sqlite.ts'), 'the graph is the app (the store comes in through deps)');
    for (const file of sources) {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(text, /\bBuffer\.|\bprocess\.(?:env|exit|cwd|on|pid)|\bspawn\(|\bexecFile|\bsetImmediate\(/, `${file} uses a Node-only global or spawns`);
    }
  });

  it('the shared app keeps no module-level mutable state and registers no process-wide secret', async () => {
    const { files } = await appGraph();
    for (const file of files.filter((f) => f.startsWith('src/') && !PROCESS_WIDE.has(f))) {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(text, /^(?:export )?let /m, `${file} has a module-level let`);
      // An empty map or set at module level is filled later: a cache or registry (it belongs in AppState or the store).
      assert.doesNotMatch(text, /^(?:export )?const \w+(?::[^=]+)? = new (?:Weak)?(?:Map|Set)(?:<[^>]*>)?\(\)/m, `${file} has a module-level cache or registry`);
      assert.doesNotMatch(text, /\bregisterSecret\(/, `${file} registers a secret process-wide`);
    }
  });

  it('the Worker bundle (entry, Durable Object, providers, bundled migrations and bootstrap files) imports no Node built-in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crabbox-worker-build-'));
    try {
      const out = await buildWorker({ entry: join(ROOT, 'src/coordinator/entry/worker.ts'), outfile: join(dir, 'worker.js') });
      const code = readFileSync(out.outfile, 'utf8');
      assert.match(code, /CREATE TABLE IF NOT EXISTS leases|CREATE TABLE leases/, 'the migrations are in the bundle as data');
      assert.match(code, /cloud-init/, 'the bootstrap files are in the bundle as data');
      assert.doesNotMatch(code, /readdirSync|readFileSync/, 'nothing reads files at run time');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

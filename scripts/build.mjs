// Bundles the CLI into dist/ with esbuild. Commands are split into chunks loaded on demand, so start-up reads little.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';

const quiet = process.argv.includes('--quiet');
const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
const started = performance.now();
await build({
  entryPoints: { crabbox: 'src/entry/cli.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
  // CRABBOX_BUILD tells one build from the next: a warm runner (src/runner/) serves only clients of its own build.
  define: { CRABBOX_VERSION: JSON.stringify(pkg.version), CRABBOX_BUILD: JSON.stringify(`${pkg.version}-${randomUUID()}`) },
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __crabboxRequire } from 'node:module'; const require = __crabboxRequire(import.meta.url);" },
});
if (!quiet) console.log(`build: dist/crabbox.js in ${Math.round(performance.now() - started)}ms`);

// The coordinator for Cloudflare Workers: a separate output (the CLI bundle above does not include it, and the CLI
// never loads it); `crabbox coordinator deploy` uploads it with wrangler.
const workerStarted = performance.now();
const { buildWorker } = await import('./worker-build.ts');
const worker = await buildWorker({ entry: 'src/coordinator/entry/worker.ts', outfile: 'dist/worker/worker.js', minify: true });
if (!quiet) console.log(`build: dist/worker/worker.js (${Math.round(worker.bytes / 1024)} KiB) in ${Math.round(performance.now() - workerStarted)}ms`);

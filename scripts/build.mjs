// Bundles the CLI into dist/ with esbuild. Commands are split into chunks loaded on demand, so start-up reads little.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

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
  define: { CRABBOX_VERSION: JSON.stringify(pkg.version) },
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __crabboxRequire } from 'node:module'; const require = __crabboxRequire(import.meta.url);" },
});
if (!quiet) console.log(`build: dist/crabbox.js in ${Math.round(performance.now() - started)}ms`);

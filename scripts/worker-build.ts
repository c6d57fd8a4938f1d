// Bundles the coordinator for Cloudflare Workers (workerd) with esbuild: the Worker entry, its Durable Object, and the
// files the Node build reads from disk turned into modules (the numbered .sql migrations, the box bootstrap files).
// The bundle must not import any Node built-in: the build fails naming the importer if it does.
import { build, type Metafile, type Plugin } from 'esbuild';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { OTHER_FILES, shippedText } from '../src/bootstrap/files.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIGRATIONS_DIR = join(ROOT, 'src/storage/sql/migrations');
const BOOTSTRAP_DIR = join(ROOT, 'src/bootstrap/files');

/** The numbered migrations as a module: the same `loadMigrations()` the Node store calls, from data. */
export function migrationsModule(): string {
  const migrations = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(MIGRATIONS_DIR, f), 'utf8') }));
  return `export { migrate } from './migrate.ts';\nconst MIGRATIONS = ${JSON.stringify(migrations)};\nexport function loadMigrations() { return MIGRATIONS.map((m) => ({ ...m })); }\n`;
}

function filesUnder(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, filesUnder(path, base));
    else out[relative(base, path)] = readFileSync(path, 'utf8');
  }
  return out;
}

/** The bootstrap files as a module with the same exports as src/bootstrap/files.ts (gzipped here: no zlib on Workers). */
export function bootstrapModule(): string {
  const files = filesUnder(BOOTSTRAP_DIR);
  for (const [name, path] of Object.entries(OTHER_FILES)) files[name] = readFileSync(join(BOOTSTRAP_DIR, path), 'utf8');
  const gz = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, gzipSync(Buffer.from(shippedText(name, text), 'utf8'), { level: 9 }).toString('base64')]));
  return `const FILES = ${JSON.stringify(files)};
const GZ = ${JSON.stringify(gz)};
export const OTHER_FILES = ${JSON.stringify(OTHER_FILES)};
export function bootstrapFilesDir() { throw new Error('crabbox: the bootstrap files are bundled in this build'); }
export function readBootstrapFile(name) { const text = FILES[name]; if (text === undefined) throw new Error('crabbox: no bootstrap file ' + name); return text; }
export function gzippedBootstrapFile(name) { const text = GZ[name]; if (text === undefined) throw new Error('crabbox: no bootstrap file ' + name); return text; }\n`;
}

const embed: Plugin = {
  name: 'crabbox-embed-files',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\]storage[/\\]sql[/\\]migrations\.ts$/ }, (args) => ({ contents: migrationsModule(), loader: 'ts', resolveDir: dirname(args.path) }));
    b.onLoad({ filter: /[/\\]src[/\\]bootstrap[/\\]files\.ts$/ }, (args) => ({ contents: bootstrapModule(), loader: 'ts', resolveDir: dirname(args.path) }));
  },
};

/**
 * The AWS SDK's browser build parses EC2's XML with DOMParser, which workerd does not have; its Node build's parser is
 * plain JavaScript, so the Worker takes that one (everything else of the SDK is its browser build: fetch, WebCrypto).
 */
const awsXmlParser: Plugin = {
  name: 'crabbox-aws-xml-parser',
  setup(b) {
    b.onLoad({ filter: /[/\\]@aws-sdk[/\\]xml-builder[/\\]dist-es[/\\]xml-parser\.browser\.js$/ }, (args) => ({
      contents: readFileSync(args.path.replace(/xml-parser\.browser\.js$/, 'xml-parser.js'), 'utf8'),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/** Every import of a Node built-in (`node:x` or a bare `fs`, ...) in the bundle, with the file that imports it. */
export function nodeImports(metafile: Metafile, allowed: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    // `<runtime>` is esbuild's own helper code (inlined into the bundle), which its metafile lists as an external import.
    for (const imp of input.imports) if (imp.external && imp.path !== '<runtime>' && !imp.path.startsWith('cloudflare:') && !allowed.includes(imp.path)) out.push(`${imp.path} <- ${file}`);
  }
  return out;
}

export interface WorkerBuild {
  outfile: string;
  bytes: number;
  metafile: Metafile;
}

/**
 * Builds one Worker entry. Node built-ins are left external only so the build can list them; any such import fails it.
 * `alias` swaps modules (the test worker swaps node:test for a collector).
 */
export async function buildWorker(options: {
  entry: string;
  outfile: string;
  alias?: Record<string, string> | undefined;
  minify?: boolean;
  /** Built-ins workerd provides under nodejs_compat that a test build may use (node:assert); never the production build. */
  allowNodeImports?: readonly string[];
}): Promise<WorkerBuild> {
  const result = await build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2023',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['node:*', 'cloudflare:*', 'fs', 'path', 'os', 'crypto', 'stream', 'http', 'https', 'net', 'tls', 'child_process', 'url', 'util', 'events', 'buffer', 'zlib'],
    alias: options.alias ?? {},
    metafile: true,
    minify: options.minify ?? false,
    sourcemap: false,
    logLevel: 'silent',
    plugins: [embed, awsXmlParser],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const bad = nodeImports(result.metafile, options.allowNodeImports);
  if (bad.length > 0) throw new Error(`the Worker bundle imports Node built-ins, which Workers do not have:\n  ${bad.join('\n  ')}`);
  return { outfile: options.outfile, bytes: statSync(options.outfile).size, metafile: result.metafile };
}

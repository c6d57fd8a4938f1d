// The dashboard is part of the coordinator's app, which runs on Node and on Cloudflare Workers. This test walks the
// static import graph from src/dashboard/app.ts and fails when a module the dashboard brought in (its own files and
// the coordinator pieces made for it) imports a Node built-in or uses a Node-only global, or reads a file at run time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../', import.meta.url));

/** Every module specifier a file imports: `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Modules written for the dashboard outside src/dashboard/: they must stay runtime-neutral too. */
const FOR_THE_DASHBOARD = [
  'coordinator/auth/web-session.ts', 'coordinator/login/web.ts', 'coordinator/login/flow.ts', 'coordinator/timeline.ts',
  'coordinator/usage-days.ts', 'app/usage-groups.ts', 'storage/sql/web-sessions.ts', 'storage/ports/web-sessions.ts',
];
const owned = (rel: string) => rel.startsWith('dashboard/') || FOR_THE_DASHBOARD.includes(rel);

/** Every source file reachable by relative static imports from `entry`, as paths relative to src/. */
function graph(entry: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    const rel = relative(SRC, file);
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (existsSync(target)) walk(target);
    }
  };
  walk(join(SRC, entry));
  return [...seen];
}

const NODE_ONLY = [
  [/from\s+['"]node:|import\(\s*['"]node:|require\(/, 'imports a Node built-in'],
  [/\bBuffer\b/, 'uses Buffer'],
  [/\bprocess\./, 'uses process'],
  [/\b__dirname\b|\bimport\.meta\.(url|dirname|filename)\b/, 'locates files on disk'],
] as const;

describe('the dashboard runs where the coordinator runs', () => {
  it('no module written for the dashboard imports Node built-ins, uses Node-only globals or reads files', () => {
    const files = graph('dashboard/app.ts').filter(owned);
    assert.ok(files.length >= 25, `the walk found the dashboard's files (${files.length})`);
    for (const rel of FOR_THE_DASHBOARD) assert.ok(files.includes(rel) || rel.startsWith('storage/'), `${rel} is reached from dashboard/app.ts`);
    const found: string[] = [];
    for (const rel of [...files, 'storage/sql/web-sessions.ts', 'storage/ports/web-sessions.ts']) {
      const text = readFileSync(join(SRC, rel), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const [pattern, what] of NODE_ONLY) if (pattern.test(text)) found.push(`${rel} ${what}`);
    }
    assert.deepEqual(found, []);
  });
});

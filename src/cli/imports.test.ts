// The CLI is a face over src/app: flags in, rendering out. This test reads every CLI source file's imports (static and
// dynamic) and fails when one reaches past the application layer into providers, the store, the lease services, sync
// or the other parts a use case wires together.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(SRC, 'cli');

/** What any CLI file may import from src/: the application layer, the wire contract, config, pure rules, redaction, itself. */
const ALLOWED = new Set(['app', 'api', 'config', 'domain', 'redact', 'fs', 'cli']);
/**
 * Faces of their own that the CLI starts: the coordinator's Node entry (serve, issue-token), the MCP server, and the
 * Worker's own settings check, which `coordinator deploy` runs on a wrangler config before uploading.
 */
const EXCEPTIONS: Record<string, string[]> = {
  'cli/commands/coordinator.ts': ['coordinator', 'auth'],
  'cli/coordinator-deploy.ts': ['coordinator'],
  'cli/commands/login.ts': ['auth'],
  'cli/commands/mcp.ts': ['mcp'],
};

/** Every module specifier a file imports: `import … from 'x'`, `export … from 'x'`, `import('x')`. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The top folder under src/ a relative specifier lands in, or undefined for a package. */
function topFolder(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = relative(SRC, resolve(dirname(file), specifier));
  return target.split('/')[0];
}

describe('the CLI is a thin face over src/app', () => {
  it('finds static, re-exported and dynamic imports', () => {
    assert.deepEqual(importsOf("import a from '../x.ts';\nexport { b } from './y.ts';\nimport type { C } from '../../z.ts';\nconst d = await import('../w.ts');\nimport '../side.ts';"), ['../x.ts', './y.ts', '../../z.ts', '../side.ts', '../w.ts']);
  });

  it('no CLI source file imports providers, the store, lease services, sync or other internals directly', () => {
    const files = sources(CLI);
    assert.ok(files.length > 30, `found ${files.length} CLI files`);
    const bad: string[] = [];
    for (const file of files) {
      const name = relative(SRC, file);
      const allowed = new Set([...ALLOWED, ...(EXCEPTIONS[name] ?? [])]);
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const top = topFolder(file, specifier);
        if (top !== undefined && !allowed.has(top)) bad.push(`${name} imports ${specifier} (src/${top})`);
      }
    }
    assert.deepEqual(bad, [], 'the CLI may import src/app, src/api, src/config, src/domain, src/redact and its own files; use cases go in src/app');
  });
});

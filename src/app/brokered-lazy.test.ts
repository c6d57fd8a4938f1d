// Direct mode (the default) must not load brokered mode's code: the coordinator client and its wire schemas cost
// start-up time on every run (zod builds every schema when its module loads). leaseSession imports them only when a
// coordinator is configured; this test follows the static imports of the run use case and fails if any path reaches them.
// The same holds for the `--json` document schemas (src/api/shapes*.ts, about 10 ms to build): a use case names its
// output schema by a loader, so only the MCP server and the tests build them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../', import.meta.url));

/** Relative modules a file imports statically (`import … from`, `export … from`, bare `import '…'`), types excluded. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s)?[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) if (!m[2]) out.push(m[3]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g)) out.push(m[1]!);
  return out.map((s) => resolve(dirname(file), s)).filter((p) => existsSync(p));
}

/** Every module reachable from `entry` by static imports, each with the chain that reached it. */
function closure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of staticImports(file)) {
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(file)!, next]);
      queue.push(next);
    }
  }
  return seen;
}

describe('direct mode loads no brokered-mode code', () => {
  it('the run use case reaches neither the coordinator client nor its endpoint schemas through static imports', () => {
    const reached = closure(resolve(SRC, 'app/run.ts'));
    assert.ok(reached.size > 40, `followed ${reached.size} modules`);
    const brokered = ['api/client.ts', 'api/endpoints.ts', 'app/coordinator-session.ts', 'leases/brokered.ts'].map((p) => resolve(SRC, p));
    const found = brokered.filter((p) => reached.has(p)).map((p) => reached.get(p)!.map((f) => relative(SRC, f)).join(' -> '));
    assert.deepEqual(found, []);
  });

  it('leaseSession still reaches them, by a dynamic import', () => {
    const text = readFileSync(resolve(SRC, 'app/session.ts'), 'utf8');
    assert.match(text, /await import\('\.\/coordinator-session\.ts'\)/);
  });
});

describe('the everyday commands build no --json document schemas', () => {
  for (const command of ['run', 'warmup', 'list', 'status', 'stop']) {
    it(`crabbox ${command} reaches none of src/api/shapes*.ts through static imports`, () => {
      const reached = closure(resolve(SRC, `cli/commands/${command}.ts`));
      assert.ok(reached.size > 10, `followed ${reached.size} modules`);
      const schemas = ['api/shapes.ts', 'api/shapes-team.ts', 'api/shapes-setup.ts'].map((p) => resolve(SRC, p));
      const found = schemas.filter((p) => reached.has(p)).map((p) => reached.get(p)!.map((f) => relative(SRC, f)).join(' -> '));
      assert.deepEqual(found, []);
    });
  }
});

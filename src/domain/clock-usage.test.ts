import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const CLOCK_MODULE = join('domain', 'clock.ts');

/** Production sources: every .ts under src/ except tests and test fixtures. */
function productionSources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'testing' && name !== 'testdata') productionSources(path, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** Reads of the wall clock and runtime timers that bypass the injected Clock. */
const FORBIDDEN: { what: string; pattern: RegExp }[] = [
  { what: 'Date.now()', pattern: /\bDate\.now\s*\(/ },
  { what: 'new Date() without an argument', pattern: /\bnew Date\s*\(\s*\)/ },
  { what: 'setTimeout', pattern: /(?<![.\w])setTimeout\s*\(/ },
  { what: 'setInterval', pattern: /(?<![.\w])setInterval\s*\(/ },
  { what: 'globalThis timers', pattern: /globalThis\.(setTimeout|setInterval)\b/ },
  { what: "node:timers", pattern: /from ['"]node:timers(\/promises)?['"]/ },
  { what: 'performance.now()', pattern: /\bperformance\.now\s*\(/ },
];

describe('time is injected', () => {
  it('no production module outside the clock reads the wall clock or schedules with runtime timers', () => {
    const files = productionSources(SRC);
    assert.ok(files.length > 100, `expected the whole source tree, found ${files.length} files`);
    const offences: string[] = [];
    for (const file of files) {
      const rel = relative(SRC, file);
      if (rel === CLOCK_MODULE) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        for (const { what, pattern } of FORBIDDEN) if (pattern.test(code)) offences.push(`src/${rel}:${i + 1}: ${what}`);
      });
    }
    assert.deepEqual(offences, [], `use the injected Clock (src/domain/clock.ts) instead:\n${offences.join('\n')}`);
  });

  it('the check itself catches each forbidden form', () => {
    const samples = ['const t = Date.now();', 'x = new Date();', 'setTimeout(f, 1)', 'setInterval(f, 1)', 'globalThis.setTimeout', "import { setTimeout } from 'node:timers/promises';", 'performance.now()'];
    for (const sample of samples) assert.ok(FORBIDDEN.some(({ pattern }) => pattern.test(sample)), sample);
    for (const fine of ['clock.setTimeout(f, 1)', 'new Date(ms)', 'clock.now()']) assert.ok(!FORBIDDEN.some(({ pattern }) => pattern.test(fine)), fine);
  });
});

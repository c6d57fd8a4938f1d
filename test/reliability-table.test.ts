// docs/reliability.md promises a test for every fault it lists. This keeps the promise checkable: every row names at
// least one test file that exists, and every quoted title is a test (or test template) in the file named before it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const table = readFileSync(join(ROOT, 'docs', 'reliability.md'), 'utf8');

/** The tests a file declares, as matchers: literal titles, and `${...}` templates as wildcards. */
function titlesIn(file: string): ((title: string) => boolean)[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const matchers: ((title: string) => boolean)[] = [];
  for (const m of source.matchAll(/\b(?:it|test|describe)\(\s*(['"`])((?:\\.|(?!\1).)*)\1/gs)) {
    const raw = m[2]!.replace(/\\(['"`\\])/g, '$1');
    if (m[1] === '`' && raw.includes('${')) {
      const pattern = new RegExp(`^${raw.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+?')}$`);
      matchers.push((title) => pattern.test(title));
    } else {
      matchers.push((title) => title === raw);
    }
  }
  return matchers;
}

describe('docs/reliability.md', () => {
  const lines = table.split('\n');
  // Table rows, without each table's header (the line before its |---| separator) and the separators.
  const rows = lines.filter((line, i) => /^\| /.test(line) && !/^\|\s*-/.test(line) && !/^\|\s*-/.test(lines[i + 1] ?? ''));

  it('has fault rows, and none is still waiting for its test', () => {
    assert.ok(rows.length >= 20, `expected the failure table, found ${rows.length} rows`);
    assert.deepEqual(rows.filter((row) => /\(test: pending/i.test(row)), []);
  });

  it('every row names an existing test file, and every quoted title is a test in the file named before it', () => {
    const problems: string[] = [];
    for (const row of rows) {
      const cells = row.split(' | ');
      const proof = cells.at(-1) ?? '';
      const files = [...proof.matchAll(/`([\w./-]+\.test\.ts)`/g)];
      if (files.length === 0) {
        problems.push(`no test file named: ${row.slice(0, 80)}`);
        continue;
      }
      // Split the proof cell at each file name; the quoted titles after a file belong to it.
      for (let i = 0; i < files.length; i++) {
        const file = files[i]![1]!;
        if (!existsSync(join(ROOT, file))) {
          problems.push(`missing file ${file}`);
          continue;
        }
        const from = files[i]!.index! + files[i]![0].length;
        const to = i + 1 < files.length ? files[i + 1]!.index! : proof.length;
        const matchers = titlesIn(file);
        for (const t of proof.slice(from, to).matchAll(/"([^"]+)"/g)) {
          const title = t[1]!;
          if (!matchers.some((matches) => matches(title))) problems.push(`${file}: no test titled "${title}"`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { collectJUnit, localJUnitSource, type JUnitSource } from './collect.ts';
import { JUNIT_LIMITS } from './junit.ts';

const tmp = tempDir();
after(() => tmp.remove());

const suite = (name: string, failed: boolean) => `<testsuite name="${name}"><testcase name="a"/>${failed ? '<testcase name="b"><failure message="no"/></testcase>' : ''}</testsuite>`;

describe('collectJUnit', () => {
  it('summarizes the reports the globs name in a real folder, and warns about a pattern that matched nothing', async () => {
    const root = join(tmp.path, 'work');
    mkdirSync(join(root, 'reports', 'unit'), { recursive: true });
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(root, 'reports', 'unit', 'a.xml'), suite('a', true));
    writeFileSync(join(root, 'reports', 'b.xml'), suite('b', false));
    writeFileSync(join(root, 'reports', 'notes.txt'), 'not a report');
    writeFileSync(join(root, 'node_modules', 'x', 'c.xml'), suite('c', true));
    writeFileSync(join(tmp.path, 'outside.xml'), suite('outside', true));
    symlinkSync(join(tmp.path, 'outside.xml'), join(root, 'reports', 'link.xml'));
    const s = await collectJUnit(['reports/**/*.xml', '**/c.xml', 'missing/*.xml'], localJUnitSource(root));
    assert.deepEqual(s.files.map((f) => f.path).sort(), ['reports/b.xml', 'reports/unit/a.xml']);
    assert.deepEqual([s.tests, s.failures], [3, 1]);
    assert.deepEqual(s.warnings, ['no file matched "**/c.xml"', 'no file matched "missing/*.xml"']);
  });

  it('never reads a report over the per-file cap or past the total cap', async () => {
    const read: string[] = [];
    const source: JUnitSource = {
      list: async () => [
        { path: 'huge.xml', size: JUNIT_LIMITS.fileBytes + 1 },
        { path: 'ok.xml', size: 100 },
        { path: 'big1.xml', size: JUNIT_LIMITS.fileBytes },
        { path: 'big2.xml', size: JUNIT_LIMITS.fileBytes },
        { path: 'big3.xml', size: JUNIT_LIMITS.fileBytes },
        { path: 'big4.xml', size: JUNIT_LIMITS.fileBytes },
      ],
      read: async (path) => {
        read.push(path);
        return Buffer.from(suite(path, false));
      },
    };
    const s = await collectJUnit(['*.xml'], source);
    assert.deepEqual(read, ['ok.xml', 'big1.xml', 'big2.xml', 'big3.xml']);
    assert.deepEqual(s.files.map((f) => f.status), ['too_large', 'ok', 'ok', 'ok', 'ok', 'skipped']);
  });

  it('refuses a pattern that leaves the workdir before listing anything', async () => {
    let listed = false;
    const source: JUnitSource = { list: async () => ((listed = true), []), read: async () => new Uint8Array() };
    await assert.rejects(collectJUnit(['../secrets/*.xml'], source), /must not contain \.\./);
    assert.equal(listed, false);
  });
});

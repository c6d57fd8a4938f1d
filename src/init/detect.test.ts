import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeFiles } from '../testing/git.ts';
import { tempDir } from '../testing/tmp.ts';
import { repoConfigSchema } from '../config/schema.ts';
import { detectProject } from './detect.ts';
import { agentsSection, crabboxYaml, runLine } from './templates.ts';

const dir = tempDir('crabbox-init-detect-');
after(() => dir.remove());
let n = 0;
const project = (files: Record<string, string>) => {
  const root = join(dir.path, `p${n++}`);
  writeFiles(root, files);
  return detectProject(root);
};

describe('project detection', () => {
  it('Node: the package manager from the lock file, the test script as the command', () => {
    const pkg = JSON.stringify({ scripts: { test: 'vitest run' }, devDependencies: { vitest: '1' } });
    assert.deepEqual(project({ 'package.json': pkg }).testCommand, ['npm', 'test']);
    assert.deepEqual(project({ 'package.json': pkg, 'pnpm-lock.yaml': '' }).testCommand, ['pnpm', 'test']);
    assert.deepEqual(project({ 'package.json': pkg, 'yarn.lock': '' }).testCommand, ['yarn', 'test']);
    assert.deepEqual(project({ 'package.json': pkg, 'bun.lock': '' }).testCommand, ['bun', 'run', 'test'], 'bun test would skip the script');
    assert.equal(project({ 'package.json': JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }) }).testCommand, null);
    assert.equal(project({ 'package.json': '{not json' }).packageManager, 'npm');
  });

  it('Python: uv, poetry, pipenv or pip, running pytest with a JUnit report', () => {
    assert.deepEqual(project({ 'pyproject.toml': '', 'uv.lock': '' }).testCommand, ['uv', 'run', 'pytest', '--junitxml=junit.xml']);
    assert.deepEqual(project({ 'pyproject.toml': '[tool.poetry]\nname = "x"\n' }).testCommand?.slice(0, 3), ['poetry', 'run', 'pytest']);
    assert.deepEqual(project({ Pipfile: '' }).testCommand?.slice(0, 3), ['pipenv', 'run', 'pytest']);
    const pip = project({ 'requirements.txt': 'pytest\n' });
    assert.deepEqual([pip.packageManager, pip.testCommand?.slice(0, 3), pip.junit], ['pip', ['python3', '-m', 'pytest'], ['junit.xml']]);
  });

  it('Go, several languages, and none', () => {
    assert.deepEqual(project({ 'go.mod': 'module x\n' }).testCommand, ['go', 'test', './...']);
    const mixed = project({ 'go.mod': 'module x\n', 'package.json': JSON.stringify({ scripts: { test: 'jest' } }) });
    assert.deepEqual([mixed.languages, mixed.testCommand], [['node', 'go'], ['npm', 'test']]);
    const none = project({ 'README.md': 'hi' });
    assert.deepEqual([none.languages, none.testCommand, none.packageManager], [[], null, null]);
    assert.equal(runLine(none), 'crabbox run --json -- <your test command>');
  });

  it('the written config is a valid repo config, with and without its suggestions switched on', () => {
    for (const files of [{ 'package.json': '{}' }, { 'uv.lock': '', 'pyproject.toml': '' }, { 'go.mod': '' }, {}] as Record<string, string>[]) {
      const yaml = crabboxYaml(project(files));
      assert.ok(repoConfigSchema.safeParse(parse(yaml)).success, yaml);
      const enabled = yaml.split('\n').map((l) => (/^# (sync|env|run):$/.test(l) || /^# {2,}\S/.test(l) ? l.slice(2) : l)).join('\n');
      const parsed = repoConfigSchema.safeParse(parse(enabled));
      assert.ok(parsed.success, enabled);
      assert.ok((parsed.data.env?.allow ?? []).includes('CI'));
    }
  });

  it('the agent section quotes the command for a shell', () => {
    const p = { ...project({ 'go.mod': '' }), testCommand: ['go', 'test', '-run', "Test It's"] };
    assert.match(agentsSection(p), /crabbox run --json -- go test -run 'Test It'\\''s'/);
  });
});

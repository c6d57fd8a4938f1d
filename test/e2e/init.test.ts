// `crabbox init` on three generated projects (Node, Python, Go): what it detects, the files it writes, that it is
// idempotent and never overwrites without --force, and that `crabbox run` (local provider, real sshd) accepts the
// config it wrote, with its commented suggestions enabled too.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initJson } from '../../src/api/shapes-setup.ts';
import { runResultJson } from '../../src/api/shapes.ts';
import { runBin } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-init-' });
after(() => sandbox.remove());

const crabbox = (cwd: string, argv: string[]) => runBin(argv, { env: sandbox.env, cwd, timeoutMs: 120_000 });

const PROJECTS = {
  node: {
    files: {
      'package.json': JSON.stringify({ name: 'sample', version: '1.0.0', scripts: { test: 'node test.js' } }, null, 2),
      'package-lock.json': JSON.stringify({ name: 'sample', lockfileVersion: 3, packages: {} }),
      'test.js': "console.log('node tests ok');\n",
    },
    languages: ['node'], packageManager: 'npm', testCommand: ['npm', 'test'], runLine: 'crabbox run --json -- npm test',
  },
  python: {
    files: { 'pyproject.toml': '[project]\nname = "sample"\nversion = "0.1.0"\n', 'uv.lock': 'version = 1\n', 'tests/test_sample.py': 'def test_ok():\n    assert True\n' },
    languages: ['python'], packageManager: 'uv', testCommand: ['uv', 'run', 'pytest', '--junitxml=junit.xml'], runLine: 'crabbox run --json --junit junit.xml -- uv run pytest --junitxml=junit.xml',
  },
  go: {
    files: { 'go.mod': 'module example.com/sample\n\ngo 1.22\n', 'sample_test.go': 'package sample\n\nimport "testing"\n\nfunc TestOK(t *testing.T) {}\n' },
    languages: ['go'], packageManager: 'go', testCommand: ['go', 'test', './...'], runLine: 'crabbox run --json -- go test ./...',
  },
} as const;

/** The config with its commented suggestions switched on: `# sync:` / `#   exclude:` / `#     - x` lose their `# `. */
function enableSuggestions(yaml: string): string {
  return yaml.split('\n').map((line) => (/^# (sync|env|run):$/.test(line) || /^# {2,}\S/.test(line) ? line.slice(2) : line)).join('\n');
}

describe('crabbox init on generated projects', () => {
  for (const [language, p] of Object.entries(PROJECTS)) {
    it(`${language}: detects the project, writes .crabbox.yaml, AGENTS.md and .mcp.json that crabbox run accepts`, async () => {
      const repo = join(sandbox.path, language);
      initRepo(repo, p.files as Record<string, string>);

      const first = await crabbox(repo, ['init', '--json']);
      assert.equal(first.code, 0, first.stderr);
      const doc = initJson.parse(JSON.parse(first.stdout));
      assert.deepEqual([doc.project.languages, doc.project.packageManager, doc.project.testCommand], [[...p.languages], p.packageManager, [...p.testCommand]]);
      assert.deepEqual(doc.files.map((f) => [f.path, f.action]), [['.crabbox.yaml', 'created'], ['AGENTS.md', 'created'], ['.mcp.json', 'created']]);
      const yaml = readFileSync(join(repo, '.crabbox.yaml'), 'utf8');
      assert.match(yaml, new RegExp(`# Run the tests on a box: ${p.runLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(readFileSync(join(repo, 'AGENTS.md'), 'utf8'), new RegExp(`\`${p.runLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``));
      assert.deepEqual(JSON.parse(readFileSync(join(repo, '.mcp.json'), 'utf8')), { mcpServers: { crabbox: { command: 'crabbox', args: ['mcp'] } } });

      // The config loader reads the file as the repo config.
      const shown = await crabbox(repo, ['config', 'show', '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(JSON.parse(shown.stdout).sources['lease.ttl'], 'repo');

      // Idempotent: a second init changes nothing.
      const before = ['.crabbox.yaml', 'AGENTS.md', '.mcp.json'].map((f) => readFileSync(join(repo, f), 'utf8'));
      const again = initJson.parse(JSON.parse((await crabbox(repo, ['init', '--json'])).stdout));
      assert.deepEqual(again.files.map((f) => f.action), ['unchanged', 'unchanged', 'unchanged']);
      assert.deepEqual(['.crabbox.yaml', 'AGENTS.md', '.mcp.json'].map((f) => readFileSync(join(repo, f), 'utf8')), before);

      // The suggestions, switched on, are valid config too; crabbox run accepts it and runs on a box.
      writeFileSync(join(repo, '.crabbox.yaml'), enableSuggestions(yaml));
      const enabled = await crabbox(repo, ['config', 'show', '--json']);
      assert.equal(enabled.code, 0, enabled.stderr);
      assert.equal(JSON.parse(enabled.stdout).sources['sync.exclude'], 'repo');
      const command = language === 'node' ? ['node', 'test.js'] : ['sh', '-c', 'ls -A; test -f .crabbox.yaml'];
      const run = await crabbox(repo, ['run', '--json', '--', ...command]);
      assert.equal(run.code, 0, run.stderr);
      const result = runResultJson.parse(JSON.parse(run.stdout));
      assert.deepEqual([result.exitCode, result.source, result.lease?.released], [0, 'remote', true]);
      if (language === 'node') assert.match(run.stderr, /node tests ok/);
      // The checkout on the box has its own .git (docs/sync.md: git on the box).
      else assert.match(run.stderr, /\.crabbox\.yaml\n\.git\n\.mcp\.json\nAGENTS\.md\n/);
    });
  }

  it('never overwrites without --force: an edited config and AGENTS.md section are kept, other content is never touched', async () => {
    const repo = join(sandbox.path, 'edited');
    initRepo(repo, { 'go.mod': 'module example.com/edited\n', 'AGENTS.md': '# House rules\n\nBe kind.\n', '.mcp.json': JSON.stringify({ mcpServers: { other: { command: 'other' } } }) });
    const first = initJson.parse(JSON.parse((await crabbox(repo, ['init', '--json'])).stdout));
    assert.deepEqual(first.files.map((f) => f.action), ['created', 'updated', 'updated']);
    const agents = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
    assert.ok(agents.startsWith('# House rules\n\nBe kind.\n\n<!-- crabbox:begin'), agents.slice(0, 80));
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(repo, '.mcp.json'), 'utf8')).mcpServers), ['other', 'crabbox']);

    writeFileSync(join(repo, '.crabbox.yaml'), 'lease:\n  ttl: 2h\n');
    writeFileSync(join(repo, 'AGENTS.md'), agents.replace('## Running tests on a Crabbox box', '## Our own words'));
    const kept = await crabbox(repo, ['init']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /^kept {6}\.crabbox\.yaml \(it differs from what init would write; --force replaces it\)$/m);
    assert.match(kept.stderr, /--force/);
    assert.equal(readFileSync(join(repo, '.crabbox.yaml'), 'utf8'), 'lease:\n  ttl: 2h\n');
    assert.match(readFileSync(join(repo, 'AGENTS.md'), 'utf8'), /## Our own words/);

    const forced = initJson.parse(JSON.parse((await crabbox(repo, ['init', '--force', '--json'])).stdout));
    assert.deepEqual(forced.files.map((f) => f.action), ['replaced', 'replaced', 'unchanged']);
    const rewritten = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
    assert.ok(rewritten.startsWith('# House rules\n\nBe kind.\n\n'), 'the rest of AGENTS.md stays');
    assert.doesNotMatch(rewritten, /Our own words/);
    assert.equal(rewritten.match(/crabbox:begin/g)?.length, 1);
  });
});

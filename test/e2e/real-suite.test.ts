// Issue 13's proof with a real project's own tests: CPython's test suite (the system python3's, from Debian's
// libpython3.X-testsuite) for the modules that ask the terminal and the locale (curses, locale, strftime, readline),
// run in a real terminal (tmux) directly and through `crabbox run -t` on the local provider, with no extra allowlist.
// The same tests must pass and the same be skipped; curses must really run (it needs TERM and a terminal on the box).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';
import { parseJUnit, type JUnitTotals } from '../../src/results/junit.ts';
import { until } from '../../src/testing/until.ts';
import { tmuxServer } from '../../src/testing/tmux.ts';

const PYTHON = '/usr/bin/python3';
const MODULES = ['test_curses', 'test_locale', 'test_strftime', 'test_readline'];

const sandbox = runSandbox({ prefix: 'crabbox-e2e-real-suite-' });
const repo = join(sandbox.path, 'repo');
const terminal = tmuxServer(sandbox.path); // its socket in the sandbox, removed with it
const { tmux } = terminal;

/** Runs `command` in its own tmux window (a real terminal, 120x40, TERM from tmux), waits for it, returns its exit code. */
async function inTerminal(name: string, command: string): Promise<number> {
  const script = join(sandbox.path, `${name}.sh`);
  const done = join(sandbox.path, `${name}.done`);
  const exports = Object.entries(sandbox.env).map(([k, v]) => `export ${k}=${JSON.stringify(v ?? '')}`).join('\n');
  writeFileSync(script, `${exports}\nexport TERM=xterm-256color LANG=C.UTF-8\ncd ${JSON.stringify(repo)}\n${command}\necho $? > ${JSON.stringify(done)}\nsleep 30\n`);
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `sh ${script}`);
  await until(() => existsSync(done), `${name} to finish`, 120_000, 100);
  return Number(readFileSync(done, 'utf8').trim());
}

const totals = (file: string): JUnitTotals & { curses: number } => {
  const text = readFileSync(file, 'utf8');
  return { ...parseJUnit(text, () => undefined).totals, curses: (text.match(/<testcase [^>]*name="test\.test_curses\./g) ?? []).length };
};

describe('a real project\'s test suite through crabbox run -t, against the same run directly (CPython\'s curses, locale, strftime and readline tests)', () => {
  before(() => initRepo(repo, { 'README.md': 'real suite\n' }));
  after(async () => {
    terminal.kill();
    await sandbox.remove();
  });

  it('passes and skips the same tests in a terminal both ways, curses included', async () => {
    const pyTests = (xml: string): string => `${PYTHON} -m test -u curses ${MODULES.join(' ')} --junit-xml ${xml} > /dev/null 2>&1`;
    const direct = join(sandbox.path, 'direct.xml');
    assert.equal(await inTerminal('direct', pyTests(direct)), 0, 'the suite passes directly');
    const crabbox = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} run -t --download junit.xml -- sh -c ${JSON.stringify(pyTests('junit.xml').replace(' > /dev/null 2>&1', ''))} > /dev/null 2>&1`;
    assert.equal(await inTerminal('crabbox', crabbox), 0, 'the suite passes through crabbox run -t');
    const artifacts = join(repo, '.crabbox', 'artifacts');
    const [runDir] = readdirSync(artifacts);
    const there = totals(join(artifacts, runDir!, 'junit.xml'));
    const here = totals(direct);
    assert.ok(here.tests > 100 && here.passed > 100, `a real run: ${JSON.stringify(here)}`);
    assert.ok(here.curses > 50, 'curses ran directly');
    assert.deepEqual(
      { tests: there.tests, passed: there.passed, failures: there.failures, errors: there.errors, skipped: there.skipped, curses: there.curses },
      { tests: here.tests, passed: here.passed, failures: here.failures, errors: here.errors, skipped: here.skipped, curses: here.curses },
    );
  });
});

// `crabbox run -t`: the command on a terminal on the box (local provider, real sshd, util-linux script), and the
// built CLI in a real terminal: tmux.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';
import { until } from '../../src/testing/until.ts';
import { tmuxServer } from '../../src/testing/tmux.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-pty-' });
const repo = join(sandbox.path, 'repo');
const terminal = tmuxServer(sandbox.path); // its socket in the sandbox, removed with it
const { tmux } = terminal;

describe('crabbox run -t', () => {
  before(() => initRepo(repo, { 'README.md': 'pty\n' }));
  after(async () => {
    terminal.kill();
    await sandbox.remove();
  });

  it('runs the command on a terminal of the caller\'s size: stdin, stdout and stderr are ttys, TERM is set, COLUMNS is not; no keys: end of file', async () => {
    // (bash itself sets COLUMNS once a command has run: it is read first.)
    // Without a terminal of its own to take keys from, crabbox gives the command's terminal end of file: a prompt ends.
    const r = await runCli(['run', '-t', '--', 'bash', '-c', 'echo "$TERM ${COLUMNS-unset}" >&2; test -t 0 && test -t 1 && test -t 2 && echo on-a-tty; tput cols; tput lines; read -r x || exit 4'], {
      env: { ...sandbox.env, TERM: 'xterm-256color' }, cwd: repo,
    });
    assert.equal(r.code, 4, r.stderr);
    // One stream, as a terminal writes it.
    assert.equal(r.stdout, 'xterm-256color unset\r\non-a-tty\r\n80\r\n24\r\n');
  });

  it('in tmux: a prompt gets the keys typed, colours reach the terminal, a resize changes tput cols on the box, Ctrl-C stops the command and releases the lease, the terminal is restored', async () => {
    const script = join(sandbox.path, 'in-tmux.sh');
    const exports = Object.entries(sandbox.env).map(([k, v]) => `export ${k}=${JSON.stringify(v ?? '')}`).join('\n');
    const box = 'read -r -p "name? " n; echo "hello $n"; printf "\\033[31mRED\\033[0m\\n"; while :; do echo "cols=$(tput cols)"; sleep 0.2; done';
    // The pane's shell ignores Ctrl-C (it must live on to print crabbox's exit code); crabbox installs its own handler.
    writeFileSync(script, `${exports}\nexport TERM=xterm-256color\ncd ${JSON.stringify(repo)}\ntrap '' INT\n${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} run -t -- bash -c '${box}'\necho "EXIT=$?"\necho "mode=$(stty -a | grep -o -- '-*icanon' | head -n 1)"\nsleep 60\n`);
    tmux('new-session', '-d', '-s', 'pty', '-x', '100', '-y', '30', `sh ${script}`);
    const pane = (): string => tmux('capture-pane', '-p', '-e', '-t', 'pty');
    await until(() => pane().includes('name?'), 'the prompt');
    tmux('send-keys', '-t', 'pty', 'crab', 'Enter');
    await until(() => pane().includes('hello crab'), 'the answer to the prompt');
    await until(() => pane().includes('cols=100'), 'the command to print its width');
    assert.match(pane(), /\x1b\[31mRED/, 'the colour reached the terminal');
    tmux('resize-window', '-t', 'pty', '-x', '120', '-y', '30');
    await until(() => pane().includes('cols=120'), 'the box to see the new width');
    tmux('send-keys', '-t', 'pty', 'C-c');
    const exit = await until(() => /EXIT=(\d+)/.exec(pane())?.[1], 'crabbox to exit');
    assert.equal(exit, '130', pane());
    assert.equal(await until(() => /mode=(\S+)/.exec(pane())?.[1], 'the terminal mode'), 'icanon', 'the terminal is back in cooked mode');
    const list = await runCli(['list', '--json'], { env: sandbox.env, cwd: repo });
    assert.deepEqual((JSON.parse(list.stdout) as { leases: { state: string }[] }).leases.filter((l) => l.state === 'active'), [], 'the fresh lease was released');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { ManualClock } from '../domain/clock.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { completionTree, type CompletionNode } from './completion.ts';
import type { CliContext } from './context.ts';
import { EXAMPLES } from './examples.ts';

const dir = tempDir('crabbox-help-');
after(() => dir.remove());
const env = isolatedEnv(dir.path);

const quietCtx = (): CliContext => {
  const sink = new PassThrough();
  sink.resume();
  return { env, cwd: dir.path, stdin: new PassThrough(), stdout: sink, stderr: sink, clock: new ManualClock(0), exitCode: 0, json: false, debug: false, info: () => undefined, log: () => undefined };
};

/** Every command path below the program, as `crabbox help <path>` takes it. */
function paths(node: CompletionNode, prefix: string[] = []): string[][] {
  return node.commands.filter((c) => c.name !== 'help').flatMap((c) => [[...prefix, c.name], ...paths(c, [...prefix, c.name])]);
}

describe('help', () => {
  it('`crabbox help <command> <subcommand>` is that command\'s --help, for nested commands too', async () => {
    for (const argv of [['admin', 'leases'], ['coordinator', 'serve'], ['config', 'show']]) {
      const viaHelp = await runCli(['help', ...argv], { env });
      assert.equal(viaHelp.code, 0, `${argv.join(' ')}: ${viaHelp.stderr}`);
      assert.match(viaHelp.stdout, new RegExp(`^Usage: crabbox ${argv.join(' ')} `));
      assert.equal(viaHelp.stdout, (await runCli([...argv, '--help'], { env })).stdout);
    }
  });

  it('every command\'s help lists the global --json and --debug and ends with examples of that command', async () => {
    const all = paths(await completionTree(quietCtx()));
    assert.ok(all.length >= 35, `${all.length} commands`);
    for (const path of all) {
      const res = await runCli(['help', ...path], { env });
      const name = path.join(' ');
      assert.equal(res.code, 0, `${name}: ${res.stderr}`);
      assert.match(res.stdout, /\nGlobal Options:\n {2}--json +machine-readable output on stdout\n {2}--debug +diagnostics on stderr \(secrets redacted\)\n/, name);
      assert.ok(EXAMPLES[name]?.length, `${name} has examples`);
      const examples = res.stdout.split('\nExamples:\n')[1];
      assert.ok(examples, `${name}: an Examples section`);
      for (const line of EXAMPLES[name]!) assert.ok(examples.includes(`  ${line}\n`), `${name}: ${line}`);
      assert.ok(EXAMPLES[name]!.some((e) => e.includes(`crabbox ${name}`)), `${name}: an example runs it`);
    }
  });

  it('a mistyped command or subcommand gets a "did you mean", one line, exit 64', async () => {
    const top = await runCli(['lsit'], { env });
    assert.equal(top.code, ExitCode.usage);
    assert.equal(top.stderr, 'crabbox: unknown command "lsit" (did you mean `crabbox list`?); run `crabbox --help` for the list\n');
    const sub = await runCli(['admin', 'lease'], { env });
    assert.equal(sub.code, ExitCode.usage);
    assert.equal(sub.stderr, "crabbox: unknown command 'lease' (did you mean leases?) (see --help)\n");
    const flag = await runCli(['list', '--provder', 'local'], { env });
    assert.equal(flag.stderr, "crabbox: unknown option '--provder' (did you mean --provider?) (see --help)\n");
    const nothing = await runCli(['zzzzzz'], { env });
    assert.equal(nothing.stderr, 'crabbox: unknown command "zzzzzz"; run `crabbox --help` for the list\n');
  });

  it('`ssh --json` is refused in one line instead of being ignored', async () => {
    const res = await runCli(['ssh', 'blue-lobster', '--json'], { env });
    assert.equal(res.code, ExitCode.usage);
    assert.match(res.stderr, /^crabbox: `crabbox ssh` has no --json output/);
    assert.equal(res.stderr.trim().split('\n').length, 1);
    // After `--` it belongs to the remote command.
    assert.doesNotMatch((await runCli(['ssh', 'blue-lobster', '--', 'tool', '--json'], { env })).stderr, /no --json output/);
  });
});

describe('shell completion, generated from the command tree', () => {
  const script = async (shell: string): Promise<string> => {
    const res = await runCli(['completion', shell], { env });
    assert.equal(res.code, 0, res.stderr);
    const file = join(dir.path, `crabbox.${shell}`);
    writeFileSync(file, res.stdout);
    return file;
  };
  /** What the bash-style completion function offers for a command line (the last word is being completed). */
  const complete = (shell: 'bash' | 'zsh', file: string, line: string): string[] => {
    const words = line.split(' ');
    const array = words.map((w) => `'${w}'`).join(' ');
    const code = shell === 'bash'
      ? `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _crabbox; printf '%s\\n' "\${COMPREPLY[@]}"`
      // As zsh's bashcompinit calls it: in sh emulation (0-based arrays).
      : `source '${file}'; t() { emulate -L sh; setopt kshglob noshglob braceexpand; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _crabbox; print -l -- "\${COMPREPLY[@]}"; }; t`;
    return execFileSync(shell, shell === 'zsh' ? ['-f', '-c', code] : ['--norc', '-c', code], { encoding: 'utf8' }).split('\n').filter(Boolean);
  };

  for (const shell of ['bash', 'zsh'] as const) {
    it(`${shell}: commands, subcommands, flags and flag values`, async () => {
      const file = await script(shell);
      assert.deepEqual(complete(shell, file, 'crabbox li'), ['list']);
      assert.deepEqual(complete(shell, file, 'crabbox admin '), ['leases', 'release', 'delete', 'machines', 'drain', 'undrain', 'events']);
      assert.deepEqual(complete(shell, file, 'crabbox coordinator init'), ['init-secrets']);
      assert.deepEqual(complete(shell, file, 'crabbox run --prov'), ['--provider']);
      assert.deepEqual(complete(shell, file, 'crabbox warmup --provider '), ['local', 'ssh', 'hetzner', 'aws']);
      assert.deepEqual(complete(shell, file, 'crabbox --debug stop --js'), ['--json']);
      assert.deepEqual(complete(shell, file, 'crabbox help adm'), ['admin']);
      assert.deepEqual(complete(shell, file, 'crabbox run -- np'), [], 'words after -- belong to the remote command');
    });
  }

  it('fish: commands with descriptions, subcommands and flags', async () => {
    const file = await script('fish');
    const fish = (line: string): string[] => execFileSync('fish', ['--no-config', '-c', `source '${file}'; complete -C '${line}'`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.deepEqual(fish('crabbox li'), ['list\tList your leases']);
    assert.deepEqual(fish('crabbox admin ').map((l) => l.split('\t')[0]), ['delete', 'drain', 'events', 'leases', 'machines', 'release', 'undrain']);
    assert.ok(fish('crabbox run --').some((l) => l.startsWith('--provider\t')));
    assert.deepEqual(fish('crabbox warmup --provider ').map((l) => l.split('\t')[0]).sort(), ['aws', 'hetzner', 'local', 'ssh']);
  });

  it('an unknown shell is refused', async () => {
    const res = await runCli(['completion', 'tcsh'], { env });
    assert.equal(res.code, ExitCode.usage);
    assert.match(res.stderr, /expected one of bash, zsh, fish/);
  });
});

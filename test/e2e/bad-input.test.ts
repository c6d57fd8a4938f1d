import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBin } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';

/**
 * Every file under a directory, so "nothing changed" can be checked exactly. Node's compile cache of the CLI itself
 * (`~/.cache/crabbox/compile-cache`, docs/config.md) is not the user's state and may appear on any start.
 */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).filter((p) => !/^\.cache(\/crabbox(\/compile-cache(\/.*)?)?)?$/.test(p)).sort();
}

describe('bad input: one line, a documented exit code, nothing changed', () => {
  const root = mkdtempSync('/tmp/crabbox-bad-');
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync('/tmp/p', { force: true });
  });

  const cases: { name: string; config?: string; args: string[]; code: number; message: RegExp }[] = [
    { name: 'malformed YAML', config: 'lease: [ttl\n', args: ['list'], code: ExitCode.config, message: /config\.yaml.*malformed YAML/ },
    { name: 'unknown config key', config: 'lease:\n  ttll: 90m\n', args: ['warmup'], code: ExitCode.config, message: /unknown key "lease\.ttll"/ },
    { name: 'wrong config type', config: 'lease:\n  keep: maybe\n', args: ['warmup'], code: ExitCode.config, message: /lease\.keep: expected boolean/ },
    { name: 'bad duration flag', args: ['warmup', '--ttl', '90 minutes'], code: ExitCode.usage, message: /--ttl "90 minutes": expected a duration/ },
    { name: 'TTL over the cap', args: ['warmup', '--ttl', '25h'], code: ExitCode.usage, message: /--ttl 25h is out of range; allowed 1m to 24h/ },
    { name: 'unknown lease id', args: ['status', 'cbx_000000000000'], code: ExitCode.notFound, message: /no lease cbx_000000000000/ },
    { name: 'unknown slug for stop', args: ['stop', 'blue-lobster'], code: ExitCode.notFound, message: /no lease blue-lobster/ },
    { name: 'path-like slug', args: ['status', '../x'], code: ExitCode.usage, message: /is not a lease id/ },
    { name: 'command-substitution slug', args: ['ssh', '$(touch /tmp/p)', '--', 'true'], code: ExitCode.usage, message: /is not a lease id/ },
    { name: 'command-substitution slug to stop', args: ['stop', '$(touch /tmp/p)'], code: ExitCode.usage, message: /is not a lease id/ },
    { name: 'unknown flag', args: ['list', '--bogus'], code: ExitCode.usage, message: /unknown option/ },
    { name: 'TTL under a minute is refused, not raised to 60s', args: ['warmup', '--ttl', '40s', '--idle-timeout', '20s'], code: ExitCode.usage, message: /^crabbox: --ttl 40s is out of range; allowed 1m to 24h$/m },
    { name: 'idle timeout longer than the TTL', args: ['warmup', '--ttl', '1h', '--idle-timeout', '2h'], code: ExitCode.usage, message: /--idle-timeout 2h is longer than the TTL \(1h, from --ttl\)/ },
    { name: 'heartbeat idle timeout 0 is refused, not 60s', args: ['heartbeat', 'blue-lobster', '--idle-timeout', '0'], code: ExitCode.usage, message: /--idle-timeout 0s is out of range; allowed 1m to 24h/ },
    { name: 'mistyped command', args: ['lsit'], code: ExitCode.usage, message: /unknown command "lsit" \(did you mean `crabbox list`\?\)/ },
    { name: 'ssh --json', args: ['ssh', 'blue-lobster', '--json'], code: ExitCode.usage, message: /`crabbox ssh` has no --json output/ },
    { name: 'a hostile ref among several for stop', args: ['stop', 'blue-lobster', '$(touch /tmp/p)'], code: ExitCode.usage, message: /is not a lease id/ },
    { name: 'YAML alias bomb', config: 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n', args: ['list'], code: ExitCode.config, message: /too many YAML alias expansions/ },
    { name: 'relative local.workRoot', config: 'local:\n  workRoot: boxes\n', args: ['warmup'], code: ExitCode.config, message: /local\.workRoot: expected an absolute path/ },
    { name: 'bad --timeout', args: ['status', 'blue-lobster', '--wait', '--timeout', 'soon'], code: ExitCode.usage, message: /--timeout/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const home = join(root, c.name.replace(/\W+/g, '-'));
      const env = isolatedEnv(home);
      if (c.config !== undefined) {
        mkdirSync(join(home, 'config', 'crabbox'), { recursive: true, mode: 0o700 });
        writeFileSync(join(home, 'config', 'crabbox', 'config.yaml'), c.config, { mode: 0o600 });
      }
      const before = tree(home);
      const result = await runBin(c.args, { env, cwd: root });
      assert.equal(result.code, c.code, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.match(result.stderr, c.message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      if (c.code !== ExitCode.notFound) assert.deepEqual(tree(home), before, 'nothing changed');
      assert.ok(!existsSync(join(home, 'state', 'crabbox', 'local')) || readdirSync(join(home, 'state', 'crabbox', 'local')).length === 0, 'no machine made');
      assert.ok(!existsSync('/tmp/p'), 'nothing was executed');
    });
  }
});

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ExitCode } from '../domain/exit-codes.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { clearSecrets } from '../redact/redact.ts';
import { runCli } from '../testing/cli.ts';
import { fuzzParams, hostileString } from '../testing/fuzz.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { loadConfig } from './load.ts';
import { PROVIDERS } from './schema.ts';

/**
 * Config loading under generated YAML, as the user config and as a checkout's `.crabbox.yaml`: every file gives a
 * frozen config, or one line naming the file with exit 78. Never a stack trace, never another exit code.
 */

const SECTIONS: Record<string, string[]> = {
  lease: ['ttl', 'idleTimeout', 'keep', 'class', 'type'],
  ssh: ['port', 'fallbackPorts', 'connectTimeout'],
  sync: ['exclude', 'warnFiles', 'maxFiles', 'warnBytes', 'maxBytes', 'deleteLimit', 'timeout', 'gitDepth'],
  env: ['allow'],
  run: ['recordCommand', 'logTail', 'junit', 'historyLimit'],
  artifacts: ['paths', 'onFailure', 'maxFiles', 'maxBytes'],
  local: ['workRoot'],
  static: ['hosts'],
  hetzner: ['location', 'locations', 'image', 'types', 'apiUrl', 'eurToUsd', 'readyTimeout'],
  aws: ['region', 'ami', 'types', 'market', 'onDemandFallback', 'rootVolumeGiB', 'sshCidrs', 'endpoint', 'subnetId', 'ipWait'],
  coordinator: ['url', 'token', 'tokenKind'],
  classes: ['small', 'big', 'x'],
};
const TOP = [...Object.keys(SECTIONS), 'provider', 'owner', 'org', 'unknown', '__proto__', '<<'];

/** Values of every YAML-expressible kind, plus the strings config values are parsed from (durations, sizes, URLs). */
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('90m', '45s', '24h', '25h', '0s', '-5m', '1e3', '10 MB', '2GiB', '1.5k', 'local', 'hetzner', 'ssh', 'aws', 'https://c.example', 'http://127.0.0.1:1', 'javascript:alert(1)',
    'ssh-ed25519 AAAA', '~/work', '/abs/path', '../up', 'FOO_*', '*', 'X=$(id)', 'eu-west-1', 'ami-0123456789abcdef0', 'spot', 'cx53', 'fsn1', true, false, null, 0, -1, 1e309, 65536, 22),
  hostileString(40),
  fc.integer(),
  fc.double(),
  fc.boolean(),
);
const value: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: leaf }, fc.array(leaf, { maxLength: 4 }), fc.dictionary(hostileString(10), leaf, { maxKeys: 3 }));
const section = (name: string): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...(Object.hasOwn(SECTIONS, name) ? SECTIONS[name]! : ['x']), 'bogus'), name === 'static' ? fc.array(fc.dictionary(fc.constantFrom('host', 'port', 'user', 'workRoot', 'hostKey', 'identityFile', 'leaseUsers', 'sudo'), leaf), { maxLength: 2 }) : value, { maxKeys: 4 }) }, value);
const structured = fc
  .dictionary(fc.constantFrom(...TOP), fc.constant(null), { maxKeys: 5 })
  .chain((keys) => fc.record(Object.fromEntries(Object.keys(keys).map((k) => [k, Object.hasOwn(SECTIONS, k) ? section(k) : value]))))
  .map((doc) => stringify(doc));
/** Raw text, YAML syntax fragments, and valid documents with a few characters spliced in. */
const yamlText: fc.Arbitrary<string> = fc.oneof(
  structured,
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.array(fc.constantFrom('lease:', '  ttl: 90m', '\tkeep: true', '- a', '? x', ': y', '&a x', '*a', '!!binary abc', '!!js/function f', '{', '[', '"', "'", '---', '...', '%YAML 1.2', 'a: b: c', 'k: v\nk: w', '<<: *a', '#'), { maxLength: 8 }).map((l) => l.join('\n')),
  fc.tuple(structured, fc.nat(), hostileString(5)).map(([text, at, junk]) => text.slice(0, at % (text.length + 1)) + junk + text.slice(at % (text.length + 1))),
);

describe('config loading under generated YAML (fast-check)', () => {
  const dir = tempDir('crabbox-config-fuzz-');
  after(() => {
    dir.remove();
    clearSecrets();
  });
  const home = join(dir.path, 'home');
  const repo = join(dir.path, 'repo');
  mkdirSync(join(home, 'config', 'crabbox'), { recursive: true });
  mkdirSync(join(repo, '.git'), { recursive: true });
  const env = isolatedEnv(home);
  const userFile = join(home, 'config', 'crabbox', 'config.yaml');
  const repoFile = join(repo, '.crabbox.yaml');

  /** Writes the document where `which` says (the other file empty) and loads the config, as a command would. */
  const load = (which: 'user' | 'repo', text: string): unknown => {
    writeFileSync(userFile, which === 'user' ? text : '', { mode: 0o600 });
    writeFileSync(repoFile, which === 'repo' ? text : '');
    try {
      return loadConfig({ env, cwd: repo });
    } catch (error) {
      return error;
    } finally {
      clearSecrets();
    }
  };

  it('any YAML in the user config or a repo config gives a config or one invalid_config line (exit 78)', () => {
    const outcomes = { config: 0, refused: 0 };
    fc.assert(
      fc.property(fc.constantFrom<'user' | 'repo'>('user', 'repo'), yamlText, (which, text) => {
        const result = load(which, text);
        if (result instanceof Error) {
          assert.ok(isCrabboxError(result), `not a CrabboxError for ${JSON.stringify(text)}: ${result.stack}`);
          assert.equal(result.code, 'invalid_config', `${result.code}: ${result.message}`);
          assert.equal(result.exitCode, ExitCode.config);
          assert.doesNotMatch(result.message, /\n/, 'one line');
          assert.ok(result.message.startsWith(which === 'user' ? userFile : repoFile), `names the file: ${result.message}`);
          outcomes.refused++;
        } else {
          const config = result as ReturnType<typeof loadConfig>;
          assert.ok(Object.isFrozen(config));
          assert.ok((PROVIDERS as readonly string[]).includes(config.provider));
          outcomes.config++;
        }
      }),
      // Found by this test: an alias to a missing anchor under a merge key (a ReferenceError, exit 70), and a key
      // holding a line break (a two-line message).
      { ...fuzzParams(1200), examples: [['user', '<<: *a'], ['repo', 'lease:\n  <<: *nope\n'], ['user', 'classes:\n  "\\n": 0\n'], ['repo', '"a\\nb": 1\n']] },
    );
    assert.ok(outcomes.config > 50 && outcomes.refused > 50, `both outcomes exercised: ${JSON.stringify(outcomes)}`);
  });

  it('the CLI shows such a config or exits 78 with exactly one line on stderr', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'user' | 'repo'>('user', 'repo'), yamlText, async (which, text) => {
        writeFileSync(userFile, which === 'user' ? text : '', { mode: 0o600 });
        writeFileSync(repoFile, which === 'repo' ? text : '');
        const r = await runCli(['config', 'show'], { env, cwd: repo });
        clearSecrets();
        assert.ok(r.code === 0 || r.code === ExitCode.config, `exit ${r.code}: ${r.stderr}`);
        if (r.code !== 0) {
          assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
          assert.match(r.stderr, /^crabbox: /);
        }
      }),
      fuzzParams(200),
    );
  });
});

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { REDACTED, clearSecrets, redact } from '../redact/redact.ts';
import { generators, seededRandom } from '../redact/testing.ts';
import { runCli } from '../testing/cli.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { DEFAULT_ENV_ALLOW, parseEnvPattern } from './allowlist.ts';
import { selectEnv } from './select.ts';
import { mergeEnv, parseEnvFlag, runEnv, sessionEnv } from './session.ts';
import { decodeEnvBlock, encodeEnvBlock } from './wire.ts';

afterEach(() => clearSecrets());

const READER = fileURLToPath(new URL('./read-env.bash', import.meta.url));

describe('env allowlist patterns', () => {
  it('accepts exact names and PREFIX_* patterns', () => {
    assert.deepEqual(parseEnvPattern('CI'), { kind: 'exact', name: 'CI' });
    assert.deepEqual(parseEnvPattern('_X1'), { kind: 'exact', name: '_X1' });
    assert.deepEqual(parseEnvPattern('MYAPP_*'), { kind: 'prefix', prefix: 'MYAPP_' });
  });

  it('refuses *, A-B, command substitutions and every other malformed pattern in one line naming it', () => {
    const marker = `/tmp/crabbox-pwn-${process.pid}`;
    for (const bad of ['*', 'A-B', `X=$(touch ${marker})`, '', '1A', 'A B', 'A*B', '**', 'A\nB', '$HOME', 'PROJECT_$(touch x)#', 'é']) {
      assert.throws(() => parseEnvPattern(bad), (e: unknown) => {
        assert.ok(isCrabboxError(e));
        assert.equal(e.exitCode, ExitCode.config);
        assert.ok(!e.message.includes('\n'), 'one line');
        assert.ok(e.message.includes(JSON.stringify(bad)), `names the pattern: ${e.message}`);
        return true;
      });
    }
    assert.equal(existsSync(marker), false);
  });
});

describe('selectEnv', () => {
  const env = {
    CI: 'true',
    NODE_OPTIONS: '--max-old-space-size=4096',
    HOME: '/home/me',
    GITHUB_TOKEN: 'ghp_notforwarded',
    MYAPP_DB_URL: 'postgres://me:pw-secret-1@db/x',
    MYAPP_FLAG: '1',
    MYAPPX: 'no',
    'MYAPP_BAD-NAME': 'skipped',
    CRABBOX_COORDINATOR_TOKEN: 'cbxs_never_forwarded_ever',
    CRABBOX_ACCESS_CLIENT_SECRET: 'access-service-token-secret',
    CRABBOX_ACCESS_TOKEN: 'access-jwt-of-a-person',
    UNSET: undefined,
  };

  it('forwards only the defaults unless the allowlist says more; CI is left to the session context', () => {
    assert.deepEqual(selectEnv(env, DEFAULT_ENV_ALLOW).map((p) => p.name), ['NODE_OPTIONS']);
  });

  it('matches prefixes, skips invalid names and never forwards crabbox credentials', () => {
    const names = selectEnv(env, ['MYAPP_*', 'CRABBOX_*', 'CRABBOX_COORDINATOR_TOKEN', 'CRABBOX_ACCESS_CLIENT_SECRET', 'CRABBOX_ACCESS_TOKEN', 'UNSET']).map((p) => p.name);
    assert.deepEqual(names, ['MYAPP_DB_URL', 'MYAPP_FLAG']);
  });

  it('registers every forwarded value with the redactor', () => {
    selectEnv({ MYAPP_SECRET_VALUE: 'canary-4b1d9e', MYAPP_OTHER: 'plainvalue-77' }, ['MYAPP_*']);
    assert.equal(redact('x canary-4b1d9e y plainvalue-77'), `x ${REDACTED} y ${REDACTED}`);
  });

  it('forwards short values like NODE_OPTIONS=-x without registering them as secrets (below the redaction minimum)', () => {
    assert.deepEqual(selectEnv({ NODE_OPTIONS: '-x', MYAPP_N: '1' }, ['NODE_OPTIONS', 'MYAPP_*']), [{ name: 'MYAPP_N', value: '1' }, { name: 'NODE_OPTIONS', value: '-x' }]);
    assert.equal(redact('exit 1 with -x'), 'exit 1 with -x');
  });

  it('leaves the session context\'s names to it, whatever the allowlist says: their values are never registered', () => {
    const local = { TZ: 'America/Argentina/Buenos_Aires', LC_COLLATE: 'de_DE.UTF-8', TERM: 'xterm-256color', CRABBOX_RUN_ID: 'run_000000000000', MYAPP_X: 'secret-value-1' };
    assert.deepEqual(selectEnv(local, ['TZ', 'LC_*', 'TERM', 'CRABBOX_*', 'MYAPP_*']).map((p) => p.name), ['MYAPP_X']);
    assert.equal(redact('TZ is America/Argentina/Buenos_Aires, xterm-256color, secret-value-1'), `TZ is America/Argentina/Buenos_Aires, xterm-256color, ${REDACTED}`);
  });

  it('refuses a malformed pattern and forwards nothing', () => {
    assert.throws(() => selectEnv(env, ['CI', '*']), /"\*" refused/);
  });
});

describe('session context', () => {
  const local = { TERM: 'xterm-kitty', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8', LC_TIME: 'en_GB.UTF-8', TZ: 'Europe/Berlin', CI: '1', COLUMNS: '500', HOME: '/home/me', SECRET: 'x', 'LC_BAD-NAME': 'y' };

  it('without a terminal: TERM=dumb, no COLUMNS or LINES (not even the caller\'s own), the locale, TZ and CI', () => {
    assert.deepEqual(sessionEnv(local, undefined), [
      { name: 'CI', value: '1' }, { name: 'LANG', value: 'de_DE.UTF-8' }, { name: 'LC_ALL', value: 'de_DE.UTF-8' }, { name: 'LC_TIME', value: 'en_GB.UTF-8' },
      { name: 'TERM', value: 'dumb' }, { name: 'TZ', value: 'Europe/Berlin' },
    ]);
  });

  it('with a terminal: its TERM (dumb when unset) and its size', () => {
    const names = sessionEnv(local, { columns: 120, rows: 40 });
    assert.deepEqual(names.filter((p) => ['TERM', 'COLUMNS', 'LINES'].includes(p.name)), [{ name: 'COLUMNS', value: '120' }, { name: 'LINES', value: '40' }, { name: 'TERM', value: 'xterm-kitty' }]);
    assert.deepEqual(sessionEnv({}, { columns: 80 }), [{ name: 'COLUMNS', value: '80' }, { name: 'TERM', value: 'dumb' }]);
  });

  it('describes the run; the run id only when the run was recorded; later lists win a name', () => {
    const run = { leaseId: 'cbx_0123456789ab', runId: undefined, slug: 'blue-crab', provider: 'aws' };
    assert.deepEqual(runEnv(run).map((p) => p.name), ['CRABBOX_LEASE_ID', 'CRABBOX_PROVIDER', 'CRABBOX_SLUG']);
    assert.equal(runEnv({ ...run, runId: 'run_0123456789ab' }).find((p) => p.name === 'CRABBOX_RUN_ID')?.value, 'run_0123456789ab');
    assert.deepEqual(mergeEnv([{ name: 'B', value: '1' }, { name: 'A', value: '1' }], [{ name: 'B', value: '2' }]), [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
  });

  it('--env takes a name only: a value, a bad name or crabbox\'s own credential is refused in one line that never shows the value', () => {
    assert.equal(parseEnvFlag('MY_VAR'), 'MY_VAR');
    for (const [flag, shown] of [['API_KEY=hunter2-secret', '"API_KEY" with a value refused'], ['A-B', '"A-B": not an env name'], ['1X', '"1X": not an env name'], ['', '"": not an env name'], ['CRABBOX_ACCESS_TOKEN', 'CRABBOX_ACCESS_TOKEN refused']] as const) {
      assert.throws(() => parseEnvFlag(flag), (e: unknown) => {
        assert.ok(isCrabboxError(e));
        assert.equal(e.exitCode, ExitCode.usage);
        assert.ok(e.message.includes(shown), e.message);
        assert.ok(!e.message.includes('\n') && !e.message.includes('hunter2'), e.message);
        return true;
      });
    }
  });
});

describe('env block wire format', () => {
  const hostile = [
    { name: 'EMPTY', value: '' },
    { name: 'NEWLINES', value: 'line1\nline2\r\n\n' },
    { name: 'QUOTES', value: `"double" 'single' \`back\`` },
    { name: 'SUBST', value: `$(touch /tmp/crabbox-pwn-${process.pid}) \${HOME} ; rm -rf / &` },
    { name: 'EQUALS', value: 'a=b=c' },
    { name: 'BACKSLASH', value: 'C:\\path\\n\\0' },
    { name: 'UNICODE', value: 'ünïcödé ✓ 漢字' },
    { name: 'DASH', value: '--help' },
  ];

  it('round-trips hostile values and leaves the rest of stdin alone', () => {
    const block = encodeEnvBlock(hostile);
    const { pairs, rest } = decodeEnvBlock(Buffer.concat([block, Buffer.from('stdin for the command\0more')]));
    assert.deepEqual(pairs, hostile);
    assert.equal(rest.toString(), 'stdin for the command\0more');
  });

  it('round-trips random values (property)', () => {
    const g = generators(seededRandom(3));
    const alphabet = 'aZ09 =\n\r\t"\'`$(){};&|\\<>#*?~✓é';
    for (let i = 0; i < 300; i++) {
      const pairs = Array.from({ length: g.int(0, 6) }, (_, j) => ({ name: `V${j}_${g.string('ABC_', 0, 5)}`, value: g.string(alphabet, 0, 40) }));
      assert.deepEqual(decodeEnvBlock(encodeEnvBlock(pairs)).pairs, pairs);
    }
  });

  it('refuses NUL in a value, a bad name, and malformed or truncated blocks', () => {
    assert.throws(() => encodeEnvBlock([{ name: 'A', value: 'x\0y' }]), /NUL/);
    assert.throws(() => encodeEnvBlock([{ name: 'A-B', value: 'x' }]), /cannot be forwarded/);
    assert.throws(() => decodeEnvBlock(Buffer.from('CBXENV1\0A=1\0')), /truncated/);
    assert.throws(() => decodeEnvBlock(Buffer.from('CBXENV2\0\0')), /does not start/);
    assert.throws(() => decodeEnvBlock(Buffer.from('CBXENV1\0A-B=1\0\0')), /not NAME=value/);
    assert.throws(() => decodeEnvBlock(Buffer.from('CBXENV1\0NOEQUALS\0\0')), /not NAME=value/);
  });

  it('is read exactly by the bash reference reader, which runs nothing from the values', () => {
    const marker = `/tmp/crabbox-pwn-${process.pid}`;
    const stdin = Buffer.concat([encodeEnvBlock(hostile), Buffer.from('rest-of-stdin\n')]);
    const envOut = spawnSync('bash', [READER, 'env', '-0'], { input: stdin, env: { PATH: process.env.PATH } });
    assert.equal(envOut.status, 0, envOut.stderr.toString());
    const seen = new Map(envOut.stdout.toString().split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const { name, value } of hostile) assert.equal(seen.get(name), value, name);
    const catOut = spawnSync('bash', [READER, 'cat'], { input: stdin, env: { PATH: process.env.PATH } });
    assert.equal(catOut.stdout.toString(), 'rest-of-stdin\n');
    assert.equal(existsSync(marker), false);
  });

  it('the bash reader refuses truncated or malformed blocks before running the command', () => {
    for (const input of ['CBXENV1\0A=1\0', 'CBXENV9\0\0', 'CBXENV1\0A-B=1\0\0', '']) {
      const out = spawnSync('bash', [READER, 'echo', 'RAN'], { input: Buffer.from(input), env: { PATH: process.env.PATH } });
      assert.equal(out.status, 65, JSON.stringify(input));
      assert.equal(out.stdout.toString(), '');
    }
  });
});

describe('env allowlist in config files', () => {
  it('a malformed repo env.allow entry is refused in one line that names it, exit 78', async () => {
    const tmp = tempDir();
    try {
      const repo = join(tmp.path, 'repo');
      mkdirSync(join(repo, '.git'), { recursive: true });
      for (const bad of ['*', 'A-B', 'X=$(touch /tmp/pwn)']) {
        writeFileSync(join(repo, '.crabbox.yaml'), `env:\n  allow: ["CI", ${JSON.stringify(bad)}]\n`);
        const r = await runCli(['config', 'show'], { env: isolatedEnv(tmp.path), cwd: repo });
        assert.equal(r.code, ExitCode.config, r.stderr);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1);
        assert.ok(r.stderr.includes(JSON.stringify(bad)), r.stderr);
      }
    } finally {
      tmp.remove();
    }
  });
});

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, clearSecrets, redact, redactValue, registerSecret } from './redact.ts';
import { isSecretName } from './names.ts';
import { ALNUM, INNOCENT, PUNCT, UPPER_DIGITS, generators, seededRandom } from './testing.ts';

afterEach(() => clearSecrets());

/** A context embeds a secret the way real output does; `secret` makes a value the context can carry. */
interface Context {
  name: string;
  secret: (g: ReturnType<typeof generators>) => string;
  wrap: (secret: string) => string;
}

const SUFFIXES = ['', '}', '&next=1', '#frag', '?q=1', '"}', ',', ')', ' done', '\n'];
const NOT_SPACE = ALNUM + PUNCT;

const CONTEXTS: Context[] = [
  { name: 'env assignment', secret: (g) => g.string(ALNUM, 1, 1) + g.string(NOT_SPACE, 8, 40), wrap: (s) => `API_TOKEN=${s}` },
  { name: 'comma-separated env', secret: (g) => g.string(ALNUM, 1, 1) + g.string(NOT_SPACE, 8, 40), wrap: (s) => `FOO=bar,GITHUB_TOKEN=${s}` },
  { name: 'flag', secret: (g) => g.string(ALNUM, 1, 1) + g.string(NOT_SPACE, 8, 40), wrap: (s) => `--db-password=${s}` },
  { name: 'quoted assignment', secret: (g) => g.string(NOT_SPACE + ' ', 8, 40), wrap: (s) => `export AWS_SECRET_ACCESS_KEY="${s}"` },
  { name: 'json', secret: (g) => g.string(NOT_SPACE + ' "\\\'', 8, 40), wrap: (s) => JSON.stringify({ user: 'me', password: s, n: 1 }) },
  { name: 'json camelCase', secret: (g) => g.string(NOT_SPACE + ' "', 8, 40), wrap: (s) => JSON.stringify({ clientSecret: s }) },
  { name: 'yaml', secret: (g) => g.string(ALNUM, 1, 1) + g.string(NOT_SPACE + ' ', 8, 40), wrap: (s) => `db:\n  password: ${s}` },
  { name: 'header', secret: (g) => g.string(ALNUM, 1, 1) + g.string(NOT_SPACE, 8, 40), wrap: (s) => `X-Api-Key: ${s}` },
  { name: 'bearer', secret: (g) => g.string(ALNUM, 8, 40) + '9', wrap: (s) => `curl -H "Authorization: Bearer ${s}" https://x` },
  { name: 'bearer prose', secret: (g) => g.string(ALNUM + '._-', 8, 40) + '1', wrap: (s) => `sent bearer ${s} upstream` },
  { name: 'basic', secret: (g) => btoa(`${g.string(ALNUM, 1, 10)}:${g.string(ALNUM, 4, 20)}`), wrap: (s) => `Authorization: Basic ${s}` },
  { name: 'url userinfo', secret: (g) => g.string(ALNUM + "-._~!$&()*+,;=%", 6, 30), wrap: (s) => `git clone https://bot:${s}@github.com/o/r.git` },
  { name: 'query param', secret: (g) => g.string(ALNUM + '}&#?/+=.-_~!$%*()[]{}:;,|', 6, 40), wrap: (s) => `GET https://api.example.com/v1?page=2&access_token=${s}` },
  { name: 'github token', secret: (g) => `${g.pick(['ghp_', 'gho_', 'ghs_'])}${g.string(ALNUM, 36, 36)}`, wrap: (s) => `token is ${s}` },
  { name: 'github pat', secret: (g) => `github_pat_${g.string(ALNUM, 22, 22)}_${g.string(ALNUM, 59, 59)}`, wrap: (s) => `{${s}}` },
  { name: 'crabbox token', secret: (g) => `${g.pick(['cbxu_', 'cbxs_'])}${g.string(ALNUM, 32, 48)}`, wrap: (s) => `using ${s}` },
  { name: 'slack', secret: (g) => `${g.pick(['xoxb-', 'xoxp-'])}${g.string('0123456789', 10, 12)}-${g.string(ALNUM, 24, 24)}`, wrap: (s) => `slack=${s}` },
  { name: 'gitlab', secret: (g) => `glpat-${g.string(ALNUM, 20, 20)}`, wrap: (s) => `(${s})` },
  { name: 'npm', secret: (g) => `npm_${g.string(ALNUM, 36, 36)}`, wrap: (s) => `//registry.npmjs.org/:_authToken=${s}` },
  { name: 'aws key id', secret: (g) => `${g.pick(['AKIA', 'ASIA'])}${g.string(UPPER_DIGITS, 16, 16)}`, wrap: (s) => `key id ${s}.` },
  { name: 'aws secret', secret: (g) => `${g.string(ALNUM + '/+', 37, 37)}aZ9`, wrap: (s) => `aws configure set x ${s}` },
  { name: 'bare jwt', secret: (g) => jwt(g), wrap: (s) => `token ${s}` },
  { name: 'jwt in a log field', secret: (g) => jwt(g, { unsigned: g.int(0, 3) === 0 }), wrap: (s) => `level=info msg="issued" jwt=${s}` },
  { name: 'encrypted jwt (5 segments)', secret: (g) => jwt(g, { encrypted: true }), wrap: (s) => `[${s}]` },
  { name: 'pem', secret: (g) => g.string(ALNUM + '/+', 64, 64), wrap: (s) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${s}\n${s}\n-----END OPENSSH PRIVATE KEY-----` },
];

const b64url = (text: string): string => Buffer.from(text).toString('base64url');

/** A JWT with a random JSON header and payload: signed (3 segments), unsigned (empty signature) or encrypted (5). */
function jwt(g: ReturnType<typeof generators>, o: { unsigned?: boolean; encrypted?: boolean } = {}): string {
  const header = b64url(JSON.stringify(o.encrypted ? { alg: 'RSA-OAEP', enc: 'A256GCM' } : { alg: g.pick(['HS256', 'RS256', 'ES256', 'none']), typ: 'JWT', kid: g.string(ALNUM, 0, 12) }));
  const payload = b64url(JSON.stringify({ sub: g.string(ALNUM, 1, 20), iat: g.int(1e9, 2e9), scope: g.string(ALNUM + ' ', 0, 30) }));
  const seg = (min: number, max: number) => g.string(`${ALNUM}_-`, min, max);
  if (o.encrypted) return `${header}.${seg(40, 300)}.${seg(16, 22)}.${seg(20, 200)}.${seg(22, 22)}`;
  return `${header}.${payload}.${o.unsigned ? '' : seg(43, 342)}`;
}

function randomText(g: ReturnType<typeof generators>): string {
  const parts: string[] = [];
  const n = g.int(0, 4);
  for (let i = 0; i < n; i++) parts.push(g.pick(INNOCENT));
  return parts.join(g.pick([' ', '\n', '\t']));
}

describe('redact: property tests', () => {
  for (const context of CONTEXTS) {
    it(`never lets a secret through: ${context.name}`, () => {
      const seed = 0xc0ffee ^ context.name.length * 7919;
      const g = generators(seededRandom(seed));
      for (let i = 0; i < 300; i++) {
        const secret = context.secret(g);
        const text = `${randomText(g)}${g.pick([' ', '\n'])}${context.wrap(secret)}${g.pick(SUFFIXES)}${g.pick([' ', '\n'])}${randomText(g)}`;
        const out = redact(text);
        assert.ok(!out.includes(secret), `seed ${seed} case ${i}: ${JSON.stringify(text)} -> ${JSON.stringify(out)}`);
        assert.equal(redact(out), out, `seed ${seed} case ${i}: redaction is idempotent`);
        assert.ok(out.includes(REDACTED), `seed ${seed} case ${i}: nothing redacted in ${JSON.stringify(text)}`);
        // No long fragment of the secret survives either (a suffix after }, &, # or ?).
        for (const piece of secret.split(/[}&#?]/)) {
          if (piece.length >= 8 && !INNOCENT.some((t) => t.includes(piece))) assert.ok(!out.includes(piece), `seed ${seed} case ${i}: fragment ${JSON.stringify(piece)} of ${JSON.stringify(text)} survived`);
        }
      }
    });
  }

  it('hides any registered secret whatever characters it holds', () => {
    const g = generators(seededRandom(42));
    for (let i = 0; i < 300; i++) {
      const secret = `${g.string(ALNUM, 2, 2)}${g.string(`${ALNUM}${PUNCT} "'\\\n\t$()`, 6, 60)}`;
      clearSecrets();
      registerSecret(secret);
      const text = `${randomText(g)}${g.pick(['', 'x', ' ', '='])}${secret}${g.pick(SUFFIXES)}${randomText(g)}${secret}`;
      const out = redact(text);
      assert.ok(!out.includes(secret), `case ${i}: ${JSON.stringify(text)} -> ${JSON.stringify(out)}`);
    }
  });

  it('leaves text without secrets unchanged', () => {
    const g = generators(seededRandom(7));
    for (let i = 0; i < 500; i++) {
      const text = randomText(g);
      assert.equal(redact(text), text);
    }
    for (const line of INNOCENT) assert.equal(redact(line), line, line);
  });
});

describe('redact: specific shapes', () => {
  it('keeps the name, the separator and the quotes', () => {
    assert.equal(redact('GITHUB_TOKEN=abc123xyz'), `GITHUB_TOKEN=${REDACTED}`);
    assert.equal(redact('{"apiKey": "s3cr3t-value"}'), `{"apiKey": "${REDACTED}"}`);
    assert.equal(redact("password: 'hunter2hunter2'"), `password: '${REDACTED}'`);
    assert.equal(redact('https://u:p4ss@h.example/x?sig=abc&y=1'), `https://${REDACTED}@h.example/x?sig=${REDACTED}`);
  });

  it('does not stop at }, &, # or ? (the upstream suffix bug)', () => {
    for (const tail of ['}tail', '&tail', '#tail', '?tail']) {
      const out = redact(`SECRET_KEY=abc${tail}123 next`);
      assert.equal(out, `SECRET_KEY=${REDACTED} next`);
    }
  });

  it('redacts PGP private key blocks and keeps the line after an empty assignment', () => {
    assert.equal(redact('-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQdGBF\n-----END PGP PRIVATE KEY BLOCK-----\nok'), `${REDACTED}\nok`);
    assert.equal(redact('API_TOKEN=\nnext line'), 'API_TOKEN=\nnext line');
  });

  it('redacts an unterminated PEM block to the end', () => {
    assert.equal(redact('key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\nAAAA'), `key:\n${REDACTED}`);
  });

  it('redacts a bare JWT whole, and leaves dotted words whose first part is not JSON', () => {
    const token = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"alice","exp":1767225600}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
    assert.equal(redact(`got ${token} from the server`), `got ${REDACTED} from the server`);
    assert.equal(redact(`{"id_token":"x","raw":"${token}"}`), `{"id_token":"${REDACTED}","raw":"${REDACTED}"}`);
    assert.equal(redact(`${token.split('.').slice(0, 2).join('.')}.`), REDACTED, 'unsigned (alg none)');
    for (const innocent of ['eyJohnson.smith.example', 'see eyJ0eXAi.two.three later', 'version eyJhbGciOiJIUzI1 ok']) assert.equal(redact(innocent), innocent);
  });

  it('an empty or unset value is not a secret: NAME=, NAME= undefined, NAME=null, NAME=""', () => {
    for (const line of ['MYAPP_SECRET= undefined', 'MYAPP_SECRET=undefined', 'API_TOKEN=null', 'API_TOKEN=""', "password=''", 'password: null', '{"password": ""}', 'MYAPP_SECRET=\nnext']) {
      assert.equal(redact(line), line, line);
    }
    // A value after spaces is still a value (ini style `password = hunter2`).
    assert.equal(redact('password = hunter2 ok'), `password = ${REDACTED} ok`);
    assert.equal(redact('MYAPP_SECRET=undefined-but-not-quite'), `MYAPP_SECRET=${REDACTED}`);
    assert.equal(redact('API_TOKEN="null-ish"'), `API_TOKEN="${REDACTED}"`);
  });

  it('ignores registered values too short to redact safely', () => {
    registerSecret('true');
    registerSecret('');
    registerSecret(undefined);
    assert.equal(redact('CI=true'), 'CI=true');
  });

  it('registers the lines of a multi-line secret so line-wise redaction hides them', () => {
    registerSecret('first-line-of-secret\nsecond-line-of-secret');
    assert.equal(redact('a second-line-of-secret b'), `a ${REDACTED} b`);
  });

  it('redactValue redacts nested strings and keys but keeps structure', () => {
    registerSecret('canary-1234567');
    const value = redactValue({ a: ['x canary-1234567 y', 3, null], 'canary-1234567': true, nested: { t: 'TOKEN=zzzzzzzz' } });
    assert.deepEqual(value, { a: [`x ${REDACTED} y`, 3, null], [REDACTED]: true, nested: { t: `TOKEN=${REDACTED}` } });
  });
});

describe('redact: realistic output', () => {
  it('changes only the secrets in a mixed log', () => {
    const lines = [
      ['> node --test', null],
      ['ℹ pass 12', null],
      ['Author: Jane Doe <jane@example.com>', null],
      ['> Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789', `> Authorization: ${REDACTED}`],
      ['< set-cookie: _gh_sess=abc123; path=/; secure', `< set-cookie: ${REDACTED}`],
      ['< x-ratelimit-remaining: 4999', null],
      ['{"level":"info","msg":"listening","port":8080,"token_count":3}', null],
      ['{"level":"error","msg":"auth failed","user":"bob","password":"hunter2"}', `{"level":"error","msg":"auth failed","user":"bob","password":"${REDACTED}"}`],
      ["KeyError: 'API_KEY'", null],
      ['    login_test.go:12: expected status 200, got 401', null],
      ['sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945', null],
      ['PASSWORD_MIN_LENGTH=8', null],
      ['session: started', null],
      ['key: value', null],
      ['token budget exceeded', null],
      ['DATABASE_URL=postgres://app:s3cret@db:5432/app', `DATABASE_URL=postgres://${REDACTED}@db:5432/app`],
      ['export NODE_OPTIONS=--max-old-space-size=4096', null],
      ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', `aws_access_key_id = ${REDACTED}`],
      ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', `aws_secret_access_key = ${REDACTED}`],
      ['coordinator:\n  tokenKind: shared', null],
    ] as const;
    for (const [input, expected] of lines) assert.equal(redact(input), expected ?? input);
  });
});

describe('redact: cost', () => {
  it('stays linear on pathological input (no regex backtracking blow-up)', () => {
    for (const unit of ['a-', 'a.', 'x=', 'a:', '"a":', 'token=', 'Bearer ', 'http://', '?token', 'A'.repeat(39) + '1 ', '-----BEGIN PRIVATE KEY-----']) {
      const text = unit.repeat(Math.ceil(200_000 / unit.length));
      const start = performance.now();
      redact(text);
      const ms = performance.now() - start;
      // A generous bound on purpose: it catches exponential regex backtracking (minutes), not slowness.
      assert.ok(ms < 2000, `${JSON.stringify(unit)} x ${text.length / unit.length} took ${ms.toFixed(0)} ms`);
    }
  });
});

describe('isSecretName', () => {
  it('judges whole words', () => {
    for (const name of ['GITHUB_TOKEN', 'token', 'db.password', 'apiKey', 'X-Api-Key', 'AWS_SECRET_ACCESS_KEY', 'DB_PASS', 'client_secret', 'NPMTOKEN', 'privateKey', 'Authorization', 'HTTP_AUTH', 'Set-Cookie']) {
      assert.ok(isSecretName(name), name);
    }
    for (const name of ['GIT_AUTHOR_NAME', 'AUTHOR', 'PASSED', 'BYPASS_CACHE', 'TOKENIZER_PATH', 'MAX_TOKENS', 'COMPASS', 'KEYBOARD', 'monkey', 'NODE_OPTIONS', 'CI', 'SESSION_ID', 'PASSWORD_MIN_LENGTH', 'tokenKind', 'GITHUB_TOKEN_FILE', 'token_expires_at', 'SECRET_NAME', 'AWS_ACCESS_KEY_ID']) {
      assert.ok(!isSecretName(name), name);
    }
  });
});

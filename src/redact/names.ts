/**
 * Decides whether a variable, header or JSON key name looks like it holds a secret.
 * Names are split into words (`_`, `-`, `.`, camelCase) and judged by whole words, so `GIT_AUTHOR_NAME`,
 * `PASSED_TESTS` or `TOKENIZER_PATH` are not secrets while `GITHUB_TOKEN`, `db.password` or `apiKey` are.
 */

/** Words that make a name secret wherever they appear in it. */
const SECRET_WORDS = new Set([
  'token', 'secret', 'secrets', 'password', 'passwords', 'passwd', 'pass', 'pwd', 'passphrase', 'apikey',
  'credential', 'credentials', 'creds', 'auth', 'authorization', 'cookie', 'privatekey', 'accesskey', 'secretkey',
]);

/** Two-word sequences that make a name secret (`API_KEY`, `x-api-key`, `privateKey`). */
const SECRET_PAIRS = new Set(['api key', 'access key', 'private key', 'secret key', 'client secret', 'session key', 'signing key', 'set cookie']);

/** Suffixes that make a single run-together word secret (`GITHUBTOKEN`, `npmpassword`). */
const SECRET_SUFFIXES = ['token', 'secret', 'password', 'passwd', 'apikey', 'privatekey', 'accesskey'];

/**
 * A last word that makes the name describe a secret rather than hold one: `PASSWORD_MIN_LENGTH`, `tokenKind`,
 * `GITHUB_TOKEN_FILE`, `token_expires_at`, `SECRET_NAME`.
 */
const DESCRIPTIVE_LAST_WORDS = new Set([
  'kind', 'type', 'length', 'len', 'min', 'max', 'count', 'size', 'limit', 'file', 'path', 'dir', 'name', 'id', 'url', 'uri',
  'endpoint', 'host', 'port', 'user', 'username', 'expiry', 'expires', 'expiration', 'at', 'ttl', 'timeout', 'enabled',
  'required', 'policy', 'prompt', 'field', 'format', 'algorithm', 'rotation', 'header', 'hint', 'source', 'env', 'var', 'usage',
]);

/** Splits `GITHUB_TOKEN`, `x-api-key`, `db.password`, `accessToken` into lower-case words. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** Words too common in ordinary output (`pass: 12`, `auth: ok`) to count alone in `name: value` form. */
const WEAK_WORDS = new Set(['pass', 'pwd', 'auth', 'creds']);

/** True for a one-word name like `pass` or `auth` that is secret in `NAME=value` form but not in `name: value` prose. */
export function isWeakSecretName(name: string): boolean {
  const words = nameWords(name);
  return words.length === 1 && WEAK_WORDS.has(words[0]!);
}

/** True when the name (an env variable, header, flag, JSON or YAML key) looks like it holds a secret. */
export function isSecretName(name: string): boolean {
  const words = nameWords(name);
  if (words.length > 1 && DESCRIPTIVE_LAST_WORDS.has(words.at(-1)!)) return false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (SECRET_WORDS.has(word)) return true;
    if (i + 1 < words.length && SECRET_PAIRS.has(`${word} ${words[i + 1]}`)) return true;
    if (word.length > 6 && SECRET_SUFFIXES.some((s) => word.endsWith(s) && word.length > s.length)) return true;
  }
  return false;
}

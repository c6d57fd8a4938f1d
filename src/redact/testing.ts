/** A small seeded PRNG (mulberry32) so property tests are reproducible: a failure names its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random helpers over one PRNG. */
export function generators(random: () => number) {
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const string = (alphabet: string, min: number, max: number): string => {
    let out = '';
    const n = int(min, max);
    for (let i = 0; i < n; i++) out += alphabet[int(0, alphabet.length - 1)];
    return out;
  };
  return { int, pick, string };
}

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Characters that made the upstream redactor stop early, plus other punctuation a secret may contain. */
export const PUNCT = '}&#?/+=.-_~!@$%^*()[]{}:;,|';

/** Ordinary output that must come through redaction unchanged: it only looks a little like secrets. */
export const INNOCENT = [
  'GIT_AUTHOR_NAME=Jane', 'GIT_AUTHOR_EMAIL=jane@example.com', 'author: Jane Doe', 'PASSED=3', 'pass: 12', '# pass 12',
  'Tests: 12 passed, 0 failed', 'MAX_TOKENS=100', 'TOKENIZER=bpe', 'session_id=4', 'the token expired',
  'bearer authentication is used', 'Basic functionality works', 'npm_config_cache=/tmp/npm', 'sk-learn', 'disk-usage',
  'https://example.com/a?page=2&sort=asc#top', 'ssh -p 2222 root@127.0.0.1', 'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
  'node_modules/.bin/tsc --noEmit', 'auth: ok', 'key_count=3', 'monkey=banana', 'if (a == b) return;', '{"name": "crabbox", "ok": true}',
  'exit=0 total=1.40s', 'tokenKind: shared', 'PASSWORD_MIN_LENGTH=8', 'GITHUB_TOKEN_FILE=/run/secrets/gh', 'PATH=/usr/local/bin:/usr/bin', 'passing (12ms)', 'AKIA is a prefix', 'keyboard: us',
  '  ✓ adds numbers (3ms)', 'src/Components/Button2/Index/File1234ab', 'dist/assets/index-B2xQ9kLm7pRt4vWz.js', 'Ünïcödé ✓ 漢字', 'time="2026-01-01T00:00:00Z" level=info msg="ready"',
] as const;

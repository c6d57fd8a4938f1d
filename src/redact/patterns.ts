import { REDACTED } from './marker.ts';
import { isSecretName, isWeakSecretName } from './names.ts';

/*
 * Secret-looking shapes, replaced without knowing the value. Values run to the next whitespace (or the closing
 * quote of a quoted value), never stopping at `}`, `&`, `#` or `?`: a secret's suffix must never stay visible,
 * and over-redacting the rest of a word is the cheaper mistake.
 */

type Replacer = (match: string, ...groups: string[]) => string;

/** A quoted value (double or single, with backslash escapes), an unterminated quote to the end of the line, or a bare word. */
const VALUE = String.raw`(?:"(?:[^"\\\n]|\\.)*"?\S*|'[^'\n]*'?\S*|[^\s"'=]\S*)`;
const NAME = String.raw`[A-Za-z_][A-Za-z0-9_.-]*`;

/** The replacement for a value, keeping its quotes balanced so a second pass finds the same thing. */
function keepQuotes(value: string): string {
  const q = value[0];
  if (q !== '"' && q !== "'") return REDACTED;
  return value.indexOf(q, 1) === -1 ? `${q}${REDACTED}` : `${q}${REDACTED}${q}`;
}

/** A Basic credential is base64 of `user:password`; checking that keeps prose like "Basic functionality" intact. */
function isBasicCredential(value: string): boolean {
  if (value.length < 8 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  return atob(value).includes(':');
}

/**
 * A free-standing AWS secret access key: 40 base64 characters mixing upper, lower and digits, and not a path
 * (a path has several word-like segments such as `src` or `Components`; random base64 rarely has two).
 */
function looksLikeAwsSecret(value: string): boolean {
  if (!/[A-Z]/.test(value) || !/[a-z]/.test(value) || !/[0-9]/.test(value)) return false;
  const segments = value.split('/');
  const wordLike = segments.filter((segment) => /^[A-Za-z][a-z]{2,}$/.test(segment)).length;
  return wordLike < 2 || wordLike * 2 < segments.length;
}

/** A JWT's first segment is base64url JSON (`{"alg":...}` encodes as `eyJ...`); decoding it keeps prose like `eyJohn.x.y` intact. */
function isJwtHeader(segment: string): boolean {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(segment.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
    return typeof json === 'object' && json !== null && !Array.isArray(json);
  } catch {
    return false;
  }
}

export const PATTERNS: [RegExp, string | Replacer][] = [
  // PEM private key blocks; an unterminated block is redacted to the end of the text.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, REDACTED],
  // URL userinfo: scheme://user:password@host
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, (_m, scheme) => `${scheme}${REDACTED}@`],
  // Secret-looking query parameters; the value runs to whitespace or a quote, so a secret containing & or # is hidden whole.
  [/([?&;](?:token|access_token|refresh_token|id_token|auth|code|secret|client_secret|password|passwd|pass|key|api_key|apikey|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^\s"'<>`]+/gi, (_m, p) => `${p}${REDACTED}`],
  // Prefixed tokens, each with its own alphabet and minimum length so `npm_config_cache` or `sk-learn` stay readable:
  // crabbox user/shared tokens, GitHub, GitLab, npm, Slack, Stripe- and OpenAI-style keys.
  [/\b(?:(?:cbxu|cbxs)_[A-Za-z0-9_-]{16,}|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,}|xox[abposre]-[A-Za-z0-9-]{10,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{20,})/g, REDACTED],
  // JSON Web Tokens (JWS: three base64url segments, JWE: five), bare: the header is JSON, so it starts `eyJ`.
  // The signature may be empty (alg none). The whole token goes, whatever follows on the word.
  [/(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,})(?:\.[A-Za-z0-9_-]*){2,4}/g, (m, header) => (isJwtHeader(header!) ? REDACTED : m)],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  // Bearer tokens (a token has a digit or punctuation, so "bearer authentication" stays) and Basic credentials.
  [/\b([Bb]earer)(\s+)([^\s"']{8,})/g, (m, kind, sp, value) => (/[^A-Za-z]/.test(value!) ? `${kind}${sp}${REDACTED}` : m)],
  [/\b(Basic)(\s+)([A-Za-z0-9+/=]{8,})/g, (m, kind, sp, value) => (isBasicCredential(value!) ? `${kind}${sp}${REDACTED}` : m)],
  // Free-standing AWS secret access keys.
  [/(?<![A-Za-z0-9/+=_.-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_.-])/g, (m) => (looksLikeAwsSecret(m) ? REDACTED : m)],
];

/**
 * `name=value`, `name: value` and `"name": "value"` rules. A head regex finds a name and its separator; only when
 * the name looks secret is the value matched (a sticky regex at the head's end) and replaced. A non-secret head
 * consumes only itself, so `FOO=a,API_TOKEN=b` still finds the second pair and no text is scanned twice.
 * A name does not start inside a word or a hyphenated word (`a-b-c` is one name), which keeps scanning linear.
 */
interface NamedRule {
  head: RegExp;
  value: RegExp;
  replace: (name: string, sep: string, value: string) => string | undefined;
}

const NAME_START = String.raw`(?<![A-Za-z0-9_.]|[A-Za-z0-9_.]-)`;

const NAMED: NamedRule[] = [
  // JSON-style "name": "value" (the value may contain escaped quotes).
  {
    head: new RegExp(String.raw`"(${NAME})("\s*:\s*)(?=")`, 'g'),
    value: /"(?:[^"\\]|\\.)*"?/y,
    replace: (name, sep, value) => `"${name}${sep}${keepQuotes(value)}`,
  },
  // NAME=value (env, flags, ini).
  {
    head: new RegExp(String.raw`${NAME_START}(${NAME})([ \t]*=[ \t]*)`, 'g'),
    value: new RegExp(VALUE, 'y'),
    replace: (name, sep, value) => `${name}${sep}${keepQuotes(value)}`,
  },
  // YAML or header `name: value`: the value is the rest of the line (or the quoted string).
  {
    head: new RegExp(String.raw`${NAME_START}(?<!/)(${NAME})(:[ \t]*)`, 'g'),
    value: /"(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^\s"'][^\n]*/y,
    replace: (name, sep, value) => {
      if (isWeakSecretName(name) || value.startsWith('//')) return undefined;
      const trailing = /\r$/.test(value) ? '\r' : '';
      return `${name}${sep}${keepQuotes(value.replace(/\s+$/, ''))}${trailing}`;
    },
  },
];

/**
 * A value that says there is no secret: nothing (`""`, `''`) or a language's word for unset (`undefined`, `null`),
 * as in `MYAPP_SECRET= undefined` from a template with a missing variable. Shown as it is, not as a hidden secret.
 */
function isEmptyValue(value: string): boolean {
  return /^(?:""|''|undefined|null)$/.test(value.trim());
}

function redactNamed(text: string, rule: NamedRule): string {
  let out = '';
  let last = 0;
  rule.head.lastIndex = 0;
  for (let m = rule.head.exec(text); m; m = rule.head.exec(text)) {
    if (!isSecretName(m[1]!)) continue;
    const valueStart = m.index + m[0].length;
    rule.value.lastIndex = valueStart;
    const value = rule.value.exec(text)?.[0];
    if (!value || isEmptyValue(value)) continue;
    const replacement = rule.replace(m[1]!, m[2]!, value);
    if (replacement === undefined) continue;
    out += text.slice(last, m.index) + replacement;
    last = valueStart + value.length;
    rule.head.lastIndex = last;
  }
  return out + text.slice(last);
}

/** Applies every shape rule to the text. */
export function redactPatterns(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement as Replacer);
  for (const rule of NAMED) out = redactNamed(out, rule);
  return out;
}

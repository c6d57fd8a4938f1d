import { isSecretName, isWeakSecretName } from './names.ts';

/**
 * Secret-looking shapes, replaced without knowing the value. Values run to the next whitespace (or the closing
 * quote of a quoted value), never stopping at `}`, `&`, `#` or `?`: a secret's suffix must never stay visible,
 * and over-redacting the rest of a word is the cheaper mistake.
 */
import { REDACTED } from './marker.ts';

type Replacer = (match: string, ...groups: string[]) => string;

/** A quoted value (double or single, with backslash escapes), an unterminated quote to the end of the line, or a bare word. */
const VALUE = String.raw`(?:"(?:[^"\\\n]|\\.)*"?\S*|'[^'\n]*'?\S*|[^\s"'=]\S*)`;
const NAME = String.raw`[A-Za-z_][A-Za-z0-9_.-]*`;

function keepQuotes(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length > 1 && value.endsWith(q)) return `${q}${REDACTED}${q}`;
  if (q === '"' || q === "'") return `${q}${REDACTED}`;
  return REDACTED;
}

/** A Basic credential is base64 of `user:password`; checking that keeps prose like "Basic functionality" intact. */
function isBasicCredential(value: string): boolean {
  if (value.length < 8 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  return atob(value).includes(':');
}

/** A free-standing AWS secret access key: 40 base64 characters mixing upper, lower and digits. */
function looksLikeAwsSecret(value: string): boolean {
  return /[A-Z]/.test(value) && /[a-z]/.test(value) && /[0-9]/.test(value);
}

export const PATTERNS: [RegExp, string | Replacer][] = [
  // PEM private key blocks; an unterminated block is redacted to the end of the text.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // URL userinfo: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, (_m, scheme) => `${scheme}${REDACTED}@`],
  // Secret-looking query parameters; the value runs to whitespace or a quote, so a secret containing & or # is hidden whole.
  [/([?&;](?:token|access_token|refresh_token|id_token|auth|code|secret|client_secret|password|passwd|pass|key|api_key|apikey|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^\s"'<>`]+/gi, (_m, p) => `${p}${REDACTED}`],
  // Prefixed tokens, each with its own alphabet and minimum length so `npm_config_cache` or `sk-learn` stay readable:
  // crabbox user/shared tokens, GitHub, GitLab, npm, Slack, Stripe- and OpenAI-style keys.
  [/\b(?:(?:cbxu|cbxs)_[A-Za-z0-9_-]{16,}|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,}|xox[abposre]-[A-Za-z0-9-]{10,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{20,})/g, REDACTED],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  // Bearer tokens (a token has a digit or punctuation, so "bearer authentication" stays) and Basic credentials.
  [/\b([Bb]earer)(\s+)([^\s"']{8,})/g, (m, kind, sp, value) => (/[^A-Za-z]/.test(value!) ? `${kind}${sp}${REDACTED}` : m)],
  [/\b(Basic)(\s+)([A-Za-z0-9+/=]{8,})/g, (m, kind, sp, value) => (isBasicCredential(value!) ? `${kind}${sp}${REDACTED}` : m)],
  // Free-standing AWS secret access keys.
  [/(?<![A-Za-z0-9/+=_.-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_.-])/g, (m) => (looksLikeAwsSecret(m) ? REDACTED : m)],
];

/**
 * `name=value`, `name: value` and `"name": "value"` rules. Their regexes match any name; the handler decides.
 * A match whose name is not secret consumes only the name, so `FOO=a,API_TOKEN=b` still finds the second pair.
 */
const NAMED: [RegExp, (name: string, sep: string, value: string) => string | undefined][] = [
  // JSON-style "name": "value" (the value may contain escaped quotes).
  [new RegExp(String.raw`"(${NAME})("\s*:\s*)("(?:[^"\\]|\\.)*"?)`, 'g'), (name, sep, value) => (isSecretName(name) ? `"${name}${sep}${keepQuotes(value)}` : undefined)],
  // NAME=value (env, flags, ini).
  [new RegExp(String.raw`(?<![A-Za-z0-9_.])(${NAME})(\s*=\s*)(${VALUE})`, 'g'), (name, sep, value) => (isSecretName(name) ? `${name}${sep}${keepQuotes(value)}` : undefined)],
  // YAML or header `name: value`: the value is the rest of the line (or the quoted string).
  [new RegExp(String.raw`(?<![A-Za-z0-9_./"])(${NAME})(:[ \t]*)("(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^\s"'][^\n]*)`, 'g'), (name, sep, value) => {
    if (!isSecretName(name) || isWeakSecretName(name) || value.startsWith('//')) return undefined;
    const trailing = /\r$/.test(value) ? '\r' : '';
    return `${name}${sep}${keepQuotes(value.replace(/\s+$/, ''))}${trailing}`;
  }],
];

function redactNamed(text: string, pattern: RegExp, handle: (name: string, sep: string, value: string) => string | undefined): string {
  let out = '';
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const replacement = handle(m[1]!, m[2]!, m[3]!);
    if (replacement === undefined) {
      pattern.lastIndex = m.index + m[1]!.length + 1;
      continue;
    }
    out += text.slice(last, m.index) + replacement;
    last = m.index + m[0].length;
  }
  return out + text.slice(last);
}

/** Applies every shape rule to the text. */
export function redactPatterns(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement as Replacer);
  for (const [pattern, handle] of NAMED) out = redactNamed(out, pattern, handle);
  return out;
}

/**
 * The one redaction choke point. Everything Crabbox prints, stores or sends as diagnostics passes through `redact`.
 * Known secret values (forwarded env values, tokens) are replaced exactly; secret-looking patterns are replaced by shape.
 */
export const REDACTED = '[redacted]';

const knownSecrets = new Set<string>();

/** Registers an exact secret value (a token, a forwarded env value). Values shorter than 4 characters are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  knownSecrets.clear();
}

const SECRET_NAME = '[A-Za-z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH|SESSION)[A-Za-z0-9_]*';

const PATTERNS: [RegExp, string | ((...m: string[]) => string)][] = [
  // PEM blocks (private keys, certificates with keys)
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // Authorization headers and bearer tokens
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, (_m, kind) => `${kind} ${REDACTED}`],
  // Prefixed tokens: crabbox user/shared tokens, GitHub, Slack, npm, Hetzner-style long hex
  [/\b(?:cbxu|cbxs|ghp|gho|ghu|ghs|ghr|github_pat|xox[abpr]|npm|glpat|sk|rk)_[A-Za-z0-9_.-]{10,}/g, REDACTED],
  // AWS access key ids and secret keys
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  [/(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{30,}/gi, (_m, p) => `${p}${REDACTED}`],
  // URL userinfo
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi, (_m, scheme) => `${scheme}${REDACTED}@`],
  // Secret-looking query parameters
  [/([?&](?:token|access_token|refresh_token|id_token|code|secret|client_secret|password|key|api_key|apikey|signature|sig|auth)=)[^&#\s]+/gi, (_m, p) => `${p}${REDACTED}`],
  // NAME=value and "name": "value" where NAME looks secret
  [new RegExp(`\\b(${SECRET_NAME})(\\s*[=:]\\s*)("?)[^\\s"'&]+`, 'gi'), (_m, name, sep, q) => `${name}${sep}${q}${REDACTED}`],
  [new RegExp(`("${SECRET_NAME}"\\s*:\\s*")[^"]*"`, 'gi'), (_m, p) => `${p}${REDACTED}"`],
];

/** Returns the text with every known secret value and every secret-looking string replaced by `[redacted]`. */
export function redact(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement as (substring: string, ...args: string[]) => string);
  return out;
}

/** Redacts every string inside a JSON-like value. */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
  }
  return value;
}

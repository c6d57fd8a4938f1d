import { REDACTED } from './marker.ts';
import { redactPatterns } from './patterns.ts';

/**
 * The one redaction choke point. Everything Crabbox prints, stores or sends as diagnostics passes through `redact`
 * (or the streaming form in stream.ts, which applies the same function line by line).
 * Known secret values (forwarded env values, tokens) are replaced exactly; secret-looking strings by shape (patterns.ts).
 */
export { REDACTED };

/** Values shorter than this are not registered: redacting every `true` or `1234` would destroy ordinary output. */
export const MIN_SECRET_LENGTH = 6;

const knownSecrets = new Set<string>();
let knownPattern: RegExp | undefined;
let longestSecret = 0;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function addSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || knownSecrets.has(value) || value.trim() === '') return;
  knownSecrets.add(value);
  knownPattern = undefined;
  longestSecret = Math.max(longestSecret, value.length);
}

/**
 * Registers an exact secret value (a token, a forwarded env value). Values shorter than MIN_SECRET_LENGTH are ignored.
 * A multi-line value also registers each of its longer lines, so a line-by-line (streamed) redaction still hides it.
 */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  addSecret(value);
  // Lines end where the stream redactor ends them: at \n, \r\n or a lone \r (progress output).
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r\n|\r|\n/)) if (line.trim().length >= 8) addSecret(line);
  }
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  knownSecrets.clear();
  knownPattern = undefined;
  longestSecret = 0;
}

/** The length of the longest registered secret (the streaming redactor holds back at least this much). */
export function longestSecretLength(): number {
  return longestSecret;
}

function secretsPattern(): RegExp | undefined {
  if (knownSecrets.size === 0) return undefined;
  // Longest first, so a secret that contains another is replaced whole.
  knownPattern ??= new RegExp([...knownSecrets].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  return knownPattern;
}

/** Returns the text with every known secret value and every secret-looking string replaced by `[redacted]`. */
export function redact(text: string): string {
  const known = secretsPattern();
  const out = known ? text.replace(known, REDACTED) : text;
  return redactPatterns(out);
}

/** Redacts every string inside a JSON-like value (keys included). */
export function redactValue<T>(value: T, redactText: (text: string) => string = redact): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redactText)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k), redactValue(v, redactText)])) as T;
  }
  return value;
}

/**
 * `redact`, plus the given secret values replaced exactly, without registering them anywhere: for code that holds its
 * own secrets (the coordinator's shared token and session secret) and must keep no process-wide state. Longest first;
 * values shorter than MIN_SECRET_LENGTH are ignored as in registerSecret.
 */
export function redactWith(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  const values = secrets.filter((s): s is string => !!s && s.length >= MIN_SECRET_LENGTH && s.trim() !== '').sort((a, b) => b.length - a.length);
  for (const secret of values) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return redact(out);
}

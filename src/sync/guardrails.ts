import { CrabboxError } from '../domain/errors.ts';
import { formatBytes } from '../cli/output.ts';

export interface GuardrailLimits {
  warnFiles: number;
  maxFiles: number;
  warnBytes: number;
  maxBytes: number;
}

export interface GuardrailVerdict {
  verdict: 'ok' | 'warn' | 'fail';
  /** One line per threshold crossed. */
  messages: string[];
}

/** Compares a manifest's size to the warn and fail thresholds. `0` disables a threshold. */
export function checkGuardrails(counts: { files: number; bytes: number }, limits: GuardrailLimits): GuardrailVerdict {
  const fails: string[] = [];
  const warns: string[] = [];
  if (limits.maxFiles > 0 && counts.files > limits.maxFiles) fails.push(`${counts.files} files is over sync.maxFiles ${limits.maxFiles}`);
  else if (limits.warnFiles > 0 && counts.files > limits.warnFiles) warns.push(`${counts.files} files is over sync.warnFiles ${limits.warnFiles}`);
  if (limits.maxBytes > 0 && counts.bytes > limits.maxBytes) fails.push(`${formatBytes(counts.bytes)} is over sync.maxBytes ${formatBytes(limits.maxBytes)}`);
  else if (limits.warnBytes > 0 && counts.bytes > limits.warnBytes) warns.push(`${formatBytes(counts.bytes)} is over sync.warnBytes ${formatBytes(limits.warnBytes)}`);
  if (fails.length > 0) return { verdict: 'fail', messages: [...fails, ...warns] };
  return { verdict: warns.length > 0 ? 'warn' : 'ok', messages: warns };
}

/** Throws when the manifest is over a fail threshold and the user did not pass `--allow-large`; returns warnings. */
export function enforceGuardrails(counts: { files: number; bytes: number }, limits: GuardrailLimits, allowLarge: boolean): string[] {
  const result = checkGuardrails(counts, limits);
  if (result.verdict === 'fail' && !allowLarge) {
    throw new CrabboxError('sync_failed', `sync too large: ${result.messages.join('; ')}`, {
      hint: 'add excludes (sync.exclude or .crabboxignore), see `crabbox sync-plan`, or pass --allow-large',
    });
  }
  return result.messages.map((m) => `warning: large sync${result.verdict === 'fail' ? ' (allowed by --allow-large)' : ''}: ${m}`);
}

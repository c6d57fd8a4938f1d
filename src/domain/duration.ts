import { CrabboxError } from './errors.ts';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a duration such as `90m`, `1h30m`, `45s`, `2d` or a bare number of seconds into whole seconds.
 * @example parseDuration('1h30m') === 5400
 */
export function parseDuration(input: string | number, what = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw badDuration(String(input), what);
    return Math.round(input);
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== text) throw badDuration(input, what);
  let seconds = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part) ?? [];
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(seconds)) throw badDuration(input, what);
  return Math.round(seconds);
}

function badDuration(value: string, what: string): CrabboxError {
  return new CrabboxError('bad_request', `invalid ${what} ${JSON.stringify(value)}: expected a duration such as 90m, 1h30m or 45s`);
}

/** Renders seconds compactly: `45s`, `30m`, `1h30m`, `2d`. */
export function formatDuration(totalSeconds: number): string {
  const negative = totalSeconds < 0;
  let s = Math.abs(Math.round(totalSeconds));
  if (s === 0) return '0s';
  const out: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (s >= size) {
      out.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return (negative ? '-' : '') + out.join('');
}

/** Renders seconds without days, as lease times and token lifetimes read best: `45s`, `30m`, `1h30m`, `24h`, `36h`. */
export function formatHours(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  if (s <= 0) return `${s}s`;
  const parts = [[Math.floor(s / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const;
  return parts.filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join('');
}

/** Renders milliseconds for timing summaries: `850ms`, `1.23s`, `2m03s`. */
export function formatMillis(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** Milliseconds as `1.23s`; an absent phase is `-`. */
export function formatSeconds(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Small, pure formatting for the pages: times in UTC, durations, money. */

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-01-15 12:00 UTC`. */
export function utc(ms: number, seconds = false): string {
  const d = new Date(ms);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time} UTC`;
}

/** A duration in the largest two units: `850 ms`, `3.2 s`, `4 min 05 s`, `2 h 10 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m} min ${pad(total % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${pad(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A time until (positive) or since (negative) a deadline, as the countdowns show it. */
export function countdown(msLeft: number): string {
  if (msLeft <= 0) return 'due now';
  return `in ${duration(msLeft)}`;
}

/** `5 min ago`, `just now`. */
export function ago(ms: number, now: number): string {
  const d = now - ms;
  if (d < 45_000) return 'just now';
  return `${duration(d).replace(/ \d+ s$/, '').replace(/ 00 min$/, ' h').replace(/ h h$/, ' h')} ago`;
}

/** US dollars: cents, or four decimals for amounts under a cent (so a young lease does not read $0.00). */
export function money(usd: number): string {
  if (!Number.isFinite(usd)) return '-';
  return `$${usd === 0 || Math.abs(usd) >= 0.01 ? usd.toFixed(2) : usd.toFixed(4)}`;
}

/** Hours with one decimal. */
export const hours = (seconds: number): string => `${(seconds / 3600).toFixed(1)} h`;

/** What a live lease has cost so far: its hourly price times the time since it was made. */
export const costSoFar = (hourlyPrice: number, createdAt: number, now: number): number => hourlyPrice * Math.max(0, now - createdAt) / 3_600_000;

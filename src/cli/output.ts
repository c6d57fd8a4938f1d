import type { Writable } from 'node:stream';
import { redact, redactValue } from '../redact/redact.ts';

/** Prints a value as JSON (redacted) on one stream. */
export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(redactValue(value), null, 2)}\n`);
}

/** Renders rows as an aligned text table; empty cells show as `-`. */
export function renderTable(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Writes text through the redaction choke point. */
export function write(out: Writable, text: string): void {
  out.write(redact(text));
}

/** Epoch ms as RFC 3339 UTC without milliseconds. */
export function isoTime(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export { formatBytes } from '../domain/bytes.ts';

/** Makes stored text safe for one table cell: control characters escaped, length bounded. */
export function oneLine(text: string, max = 60): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

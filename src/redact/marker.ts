/** What every redacted value becomes. */
export const REDACTED = '[redacted]';

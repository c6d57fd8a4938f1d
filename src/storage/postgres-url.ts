import { redact, registerSecret } from '../redact/redact.ts';

/** PostgreSQL connection strings as secrets: recognising, registering and describing them, without loading `pg`. */

/** True for the connection strings the PostgreSQL store accepts. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(value);
}

/** Registers the whole connection string and its (decoded) password with the redactor. */
export function registerPostgresUrl(url: string): void {
  registerSecret(url);
  try {
    const password = new URL(url).password;
    registerSecret(password);
    registerSecret(decodeURIComponent(password));
  } catch {
    // Not a URL: callers refuse it with a message that does not echo it.
  }
}

/** The connection string without credentials or parameters, for logs: `postgres://host:port/db`. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.username = '';
    parsed.search = '';
    parsed.hash = '';
    return redact(parsed.toString());
  } catch {
    return 'postgres://[unparseable]';
  }
}

import { readFileSync } from 'node:fs';

declare const CRABBOX_VERSION: string | undefined;

/** The package version: baked in by the bundler, read from package.json when running from source. */
export function version(): string {
  if (typeof CRABBOX_VERSION === 'string') return CRABBOX_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

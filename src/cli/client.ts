import { CoordinatorClient } from '../api/client.ts';
import { loadConfig, validateCoordinatorUrl, type Config } from '../config/load.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { CliContext } from './context.ts';

/** The coordinator client for a command: URL and token from config (or overrides), owner/org for the shared token. */
export function coordinatorClient(ctx: CliContext, overrides: { url?: string | undefined; token?: string | undefined; tokenKind?: 'shared' | 'user' } = {}): { client: CoordinatorClient; config: Readonly<Config>; url: string } {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, noRepo: true });
  const url = overrides.url !== undefined ? validateCoordinatorUrl(overrides.url) : config.coordinator?.url;
  if (!url) throw new CrabboxError('bad_request', 'no coordinator configured', { hint: 'pass --url https://crabbox.example.com or set CRABBOX_COORDINATOR' });
  // The stored token belongs to the stored URL: never send it to another coordinator named by --url.
  const token = overrides.token ?? (url === config.coordinator?.url ? config.coordinator?.token : undefined);
  const tokenKind = overrides.tokenKind ?? config.coordinator?.tokenKind ?? 'shared';
  return { client: new CoordinatorClient({ url, token, tokenKind, owner: config.owner, org: config.org }), config, url };
}

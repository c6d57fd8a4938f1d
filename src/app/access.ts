import { readFileSync, statSync } from 'node:fs';
import { CrabboxError } from '../domain/errors.ts';
import { registerSecret } from '../redact/redact.ts';

/**
 * Cloudflare Access credentials the CLI sends on every coordinator request (login included), from the environment or
 * a private file, never from flags (they would land in shell history and process lists):
 * - a service token, for automation: CRABBOX_ACCESS_CLIENT_ID with CRABBOX_ACCESS_CLIENT_SECRET or
 *   CRABBOX_ACCESS_CLIENT_SECRET_FILE, sent as CF-Access-Client-Id / CF-Access-Client-Secret;
 * - a person's Access token (`cloudflared access token --app URL`, or the CF_Authorization cookie's value):
 *   CRABBOX_ACCESS_TOKEN or CRABBOX_ACCESS_TOKEN_FILE, sent as cf-access-token (as cloudflared does).
 * Access is only an outer gate: the coordinator still wants its own bearer token.
 */
export interface AccessCredentials {
  headers: Record<string, string>;
  serviceToken: boolean;
  userToken: boolean;
}

/** NAME or NAME_FILE; a file must be private (0600 or stricter). */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name]?.trim() || undefined;
  const file = env[`${name}_FILE`]?.trim() || undefined;
  if (direct && file) throw new CrabboxError('invalid_config', `set ${name} or ${name}_FILE, not both`);
  if (!file) return direct;
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) throw new CrabboxError('invalid_config', `${name}_FILE ${file} is readable by others`, { hint: `chmod 600 ${file}` });
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error instanceof CrabboxError) throw error;
    throw new CrabboxError('invalid_config', `cannot read ${name}_FILE ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text) throw new CrabboxError('invalid_config', `${name}_FILE ${file} is empty`);
  return text;
}

export function accessCredentials(env: NodeJS.ProcessEnv): AccessCredentials {
  const id = env.CRABBOX_ACCESS_CLIENT_ID?.trim() || undefined;
  const clientSecret = secret(env, 'CRABBOX_ACCESS_CLIENT_SECRET');
  const token = secret(env, 'CRABBOX_ACCESS_TOKEN');
  if (id && !clientSecret) throw new CrabboxError('invalid_config', 'CRABBOX_ACCESS_CLIENT_ID is set without its secret', { hint: 'set CRABBOX_ACCESS_CLIENT_SECRET_FILE (a 0600 file) or CRABBOX_ACCESS_CLIENT_SECRET' });
  if (clientSecret && !id) throw new CrabboxError('invalid_config', 'an Access client secret is set without CRABBOX_ACCESS_CLIENT_ID', { hint: 'set CRABBOX_ACCESS_CLIENT_ID to the service token\'s Client ID (it ends in .access)' });
  registerSecret(clientSecret);
  registerSecret(token);
  const headers: Record<string, string> = {};
  if (id && clientSecret) {
    headers['cf-access-client-id'] = id;
    headers['cf-access-client-secret'] = clientSecret;
  }
  if (token) headers['cf-access-token'] = token;
  return { headers, serviceToken: !!(id && clientSecret), userToken: !!token };
}

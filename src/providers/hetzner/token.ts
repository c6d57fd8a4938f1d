import { CrabboxError } from '../../domain/errors.ts';
import { registerSecret } from '../../redact/redact.ts';

/**
 * The Hetzner API token: the coordinator's own (from its config) or, in direct mode, HCLOUD_TOKEN, then
 * HETZNER_TOKEN; never from repo config or a flag. Registered with the redactor before anything can print it.
 */
export function hetznerToken(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  const token = explicit ?? (env.HCLOUD_TOKEN || env.HETZNER_TOKEN || undefined);
  if (!token) throw new CrabboxError('invalid_config', 'HCLOUD_TOKEN or HETZNER_TOKEN is required for the hetzner provider', { hint: 'export HCLOUD_TOKEN with a read/write API token of your Hetzner Cloud project' });
  registerSecret(token);
  return token;
}

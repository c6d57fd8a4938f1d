import * as z from 'zod';
import { awsSection, classesSection, hetznerSection } from '../../config/schema.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { coordinatorFileSchema, type CoordinatorConfig } from '../config.ts';
import { coordinatorConfigFrom, type SettingsEnv } from '../settings.ts';

/** Providers the Worker can run: they speak HTTPS to a cloud. `local` and `ssh` need this machine's sshd and ssh. */
export const WORKER_PROVIDERS = ['hetzner', 'aws', 'fake'] as const;
const NODE_ONLY: Record<string, string> = {
  local: 'provider local runs only on Node (`crabbox coordinator serve`): its boxes are sshd processes on that machine; on Workers use hetzner or aws',
  ssh: 'provider ssh runs only on Node (`crabbox coordinator serve`): it drives static hosts over ssh; on Workers use hetzner or aws',
};

/**
 * `CRABBOX_CONFIG` (a wrangler var: a JSON object or its text): the coordinator config file's keys, minus what only a
 * server has (host, port, database), plus what the Node coordinator reads from its operator's user config (the
 * providers to serve and their settings). Secrets are Worker secrets, never here.
 */
export const workerConfigSchema = coordinatorFileSchema
  .omit({ host: true, port: true, database: true })
  .extend({
    providers: z.array(z.string().regex(/^[a-z0-9-]{1,32}$/)).min(1).max(8),
    hetzner: hetznerSection,
    aws: awsSection,
    classes: classesSection,
    /** SSH ports the boxes listen on, primary first. */
    sshPorts: z.array(z.number().int().min(1).max(65535)).min(1).max(4),
  })
  .partial();
export type WorkerConfigFile = z.infer<typeof workerConfigSchema>;

export interface WorkerSettings {
  config: Omit<CoordinatorConfig, 'installation'> & { installation?: string | undefined };
  providers: string[];
  file: WorkerConfigFile;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The Worker's bindings as settings; a bad or Node-only setting is one line (the object answers it as a 503). */
export function workerSettings(bindings: Record<string, unknown>): WorkerSettings {
  const env: SettingsEnv = Object.fromEntries(Object.entries(bindings).map(([k, v]) => [k, text(v)]));
  let raw: unknown = bindings.CRABBOX_CONFIG ?? {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new CrabboxError('invalid_config', 'CRABBOX_CONFIG is not valid JSON');
    }
  }
  const parsed = workerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CrabboxError('invalid_config', `CRABBOX_CONFIG: ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`, { hint: 'secrets belong in Worker secrets (wrangler secret put), not in CRABBOX_CONFIG' });
  }
  const file = parsed.data;
  if (file.pools !== undefined && file.pools !== null && Object.keys(file.pools).length > 0) throw new CrabboxError('invalid_config', 'warm pools run only on Node (`crabbox coordinator serve`): their machines are prepared and handed over over ssh, which the Worker cannot run');
  const providers = file.providers ?? ['hetzner'];
  for (const name of providers) {
    if (NODE_ONLY[name]) throw new CrabboxError('invalid_config', NODE_ONLY[name]);
    if (!(WORKER_PROVIDERS as readonly string[]).includes(name)) throw new CrabboxError('invalid_config', `provider ${JSON.stringify(name)} is not available on Workers; available: ${WORKER_PROVIDERS.join(', ')}`);
  }
  const full = coordinatorConfigFrom(env, { ...file, defaultProvider: file.defaultProvider ?? providers[0] }, (name) => env[name]);
  const { installation, ...config } = full;
  return { config: { ...config, ...(env.CRABBOX_INSTALLATION ?? file.installation ? { installation } : {}) }, providers, file };
}

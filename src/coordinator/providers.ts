import type { Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { loadConfig } from '../config/load.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import type { Provider, ProviderEvent } from '../providers/provider.ts';
import { providerFor } from '../providers/registry.ts';

export interface ProviderContext {
  /** Process environment: cloud credentials (HCLOUD_TOKEN, the AWS chain) come from here, never from a request. */
  env: NodeJS.ProcessEnv;
  cwd?: string | undefined;
  clock?: Clock | undefined;
  /** The coordinator's own state dir (machines of the local provider live under it). */
  stateDir: string;
  /** Parent of local box directories (default: the local provider's). */
  localBoxesRoot?: string | undefined;
  /** Provider fallbacks and failures, for the audit trail (see provider-events.ts). */
  onEvent?: ((event: ProviderEvent) => void) | undefined;
}

/** Cloud providers take their settings (location, types, classes, ports) from the operator's user config, as the CLI does. */
async function cloud(name: 'hetzner' | 'aws' | 'ssh', ctx: ProviderContext): Promise<Provider> {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd ?? '/', noRepo: true });
  return providerFor({ ...config, provider: name }, { env: ctx.env, clock: ctx.clock, onEvent: ctx.onEvent });
}

/**
 * The providers a coordinator can serve, by name. Each entry builds one provider from the coordinator's context;
 * credentials are read by the provider from env or files, never passed through requests.
 */
export const PROVIDER_REGISTRY: Record<string, (ctx: ProviderContext) => Provider | Promise<Provider>> = {
  // In-memory machines: demos and end-to-end tests of the coordinator itself. Nothing is ever really created.
  fake: () => new FakeProvider({ name: 'fake', history: false }),
  // Boxes on this machine: a private sshd per lease (see docs/providers/local.md).
  local: (ctx) => createLocalProvider({ stateDir: ctx.stateDir, boxesRoot: ctx.localBoxesRoot }),
  hetzner: (ctx) => cloud('hetzner', ctx),
  aws: (ctx) => cloud('aws', ctx),
  // Static hosts (`static.hosts` of the operator's user config); a warm pool makes them pool machines.
  ssh: (ctx) => cloud('ssh', ctx),
};

/** Builds the named providers; an unknown name or a provider that cannot start is a one-line config error. */
export async function buildProviders(names: string[], ctx: ProviderContext): Promise<Record<string, Provider>> {
  const out: Record<string, Provider> = {};
  for (const name of names) {
    const make = PROVIDER_REGISTRY[name];
    if (!make) throw new CrabboxError('invalid_config', `provider ${JSON.stringify(name)} is not available to the coordinator`, { hint: `available: ${Object.keys(PROVIDER_REGISTRY).join(', ')}` });
    out[name] = await make(ctx);
  }
  return out;
}

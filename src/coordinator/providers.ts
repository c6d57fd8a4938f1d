import { CrabboxError } from '../domain/errors.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import type { Provider } from '../providers/provider.ts';

export interface ProviderContext {
  env: NodeJS.ProcessEnv;
  /** The coordinator's own state dir (machines of the local provider live under it). */
  stateDir: string;
  /** Parent of local box directories (default: the local provider's). */
  localBoxesRoot?: string | undefined;
}

/**
 * The providers a coordinator can serve, by name. Each entry builds one provider from the coordinator's context;
 * credentials are read by the provider from env or files, never passed through here.
 */
export const PROVIDER_REGISTRY: Record<string, (ctx: ProviderContext) => Provider> = {
  // In-memory machines: demos and end-to-end tests of the coordinator itself. Nothing is ever really created.
  fake: () => new FakeProvider({ name: 'fake' }),
  // Boxes on this machine: a private sshd per lease (see docs/providers/local.md).
  local: (ctx) => createLocalProvider({ stateDir: ctx.stateDir, boxesRoot: ctx.localBoxesRoot }),
  // hetzner, aws, ssh: added here as their providers land (each reads its own credentials from env or files).
};

/** Builds the named providers; an unknown name is a one-line config error. */
export function buildProviders(names: string[], ctx: ProviderContext): Record<string, Provider> {
  const out: Record<string, Provider> = {};
  for (const name of names) {
    const make = PROVIDER_REGISTRY[name];
    if (!make) throw new CrabboxError('invalid_config', `provider ${JSON.stringify(name)} is not available to the coordinator`, { hint: `available: ${Object.keys(PROVIDER_REGISTRY).join(', ')}` });
    out[name] = make(ctx);
  }
  return out;
}

import { CloudflareClient } from '../cloudflare/client.ts';
import { createMachineTunnel, deleteMachineTunnel, sweepTunnelOrphans, type AccessRule, type MachineTunnel, type TunnelSettings } from '../cloudflare/tunnels.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { Transport } from '../domain/transport.ts';
import type { Provider } from '../providers/provider.ts';
import type { CoordinatorDeps } from './deps.ts';
import type { TunnelConfig } from './config.ts';
import { scrub } from './redaction.ts';

/**
 * Tunnel mode in the coordinator (docs/tunnel.md): which machines get a Cloudflare Tunnel, the objects made and
 * deleted with each, and the sweep of ours left behind. A client is made per use from the config (no per-app state).
 */

const EMAIL = /^[^\s@]{1,64}@[a-z0-9.-]+\.[a-z]{2,63}$/i;

function client(deps: CoordinatorDeps, t: TunnelConfig): CloudflareClient {
  return new CloudflareClient({ token: t.apiToken, clock: deps.clock, ...(t.apiUrl ? { baseUrl: t.apiUrl } : {}) });
}

const settingsOf = (t: TunnelConfig): TunnelSettings => ({ accountId: t.accountId, zoneId: t.zoneId, domain: t.domain });

/** The tunnel config when boxes of this provider get tunnels (a provider that cannot run one never does). */
export function tunnelModeFor(deps: CoordinatorDeps, provider: Provider): TunnelConfig | undefined {
  const t = deps.config.tunnel;
  return t && t.providers.includes(provider.name) && provider.capabilities.tunnel ? t : undefined;
}

/** Who the lease's Access policy lets in; an owner identity that is not an email cannot be an `owner` rule. */
export function accessRuleFor(t: TunnelConfig, owner: string): AccessRule {
  if (t.allow.kind === 'org') return { emailDomain: t.allow.emailDomain };
  if (!EMAIL.test(owner)) {
    throw new CrabboxError('bad_request', `tunnel mode allows the lease owner through Cloudflare Access by email, and ${JSON.stringify(owner.slice(0, 80))} is not one`, {
      hint: 'log in with an identity that is an email, or ask the operator to set tunnel.allow: org',
    });
  }
  return { email: owner.toLowerCase() };
}

/** The transport a tunnel-mode machine is reached by: `cloudflared access ssh` to its host name. */
export const tunnelTransport = (tunnel: Pick<MachineTunnel, 'hostname'>): Transport => ({ kind: 'cloudflare', hostname: tunnel.hostname });

/** Makes the machine's tunnel, DNS route and Access application before the machine itself (whole, or nothing left). */
export async function openTunnel(deps: CoordinatorDeps, t: TunnelConfig, machineId: string, owner: string): Promise<MachineTunnel> {
  const rule = accessRuleFor(t, owner);
  try {
    return await createMachineTunnel({ client: client(deps, t), settings: settingsOf(t), installation: deps.config.installation, machineId, rule, sshPort: t.sshPort });
  } catch (error) {
    throw new CrabboxError('provider_error', `could not make the machine's Cloudflare Tunnel: ${scrub(deps.config, error instanceof Error ? error.message : String(error)).slice(0, 200)}`, {
      hint: 'nothing was left behind; check the coordinator\'s Cloudflare API token and tunnel settings (docs/tunnel.md)',
    });
  }
}

/** Deletes a machine's tunnel objects when its provider runs in tunnel mode (found by label; already gone is fine). */
export async function closeTunnel(deps: CoordinatorDeps, machine: { id: string; provider: string }): Promise<string[]> {
  const t = deps.config.tunnel;
  if (!t || !t.providers.includes(machine.provider)) return [];
  return deleteMachineTunnel({ client: client(deps, t), settings: settingsOf(t), installation: deps.config.installation, machineId: machine.id });
}

/** The orphan sweep's tunnel part: our labelled objects whose machine the store knows as gone, or never knew (past the window). */
export async function sweepTunnels(deps: CoordinatorDeps): Promise<string[]> {
  const t = deps.config.tunnel;
  if (!t) return [];
  const states = new Map<string, Awaited<ReturnType<CoordinatorDeps['store']['getMachine']>>>();
  // The sweep asks per object; the store is read once per machine id (not pre-listed: only ids the objects name).
  const machineState = (id: string) => states.get(id)?.state;
  const result = await sweepTunnelOrphans({
    client: client(deps, t), settings: settingsOf(t), installation: deps.config.installation, now: deps.clock.now(), safetyWindowMs: deps.config.orphanSafetyWindowSeconds * 1000,
    machineState,
    prefetch: async (ids) => {
      for (const id of ids) if (!states.has(id)) states.set(id, await deps.store.getMachine(id));
    },
  });
  return result.deleted;
}

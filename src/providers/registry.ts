import type { Config } from '../config/load.ts';
import type { Provider, ProviderEvent } from './provider.ts';
import type { Clock } from '../domain/clock.ts';
import { createLocalProvider } from './local/local-provider.ts';

export interface ProviderContext {
  /** Process environment: provider credentials (HCLOUD_TOKEN, the AWS chain) come from here, never from repo config. */
  env?: NodeJS.ProcessEnv | undefined;
  clock?: Clock | undefined;
  /** Receives the provider's fallbacks and failures (the coordinator turns them into audit events). */
  onEvent?: ((event: ProviderEvent) => void) | undefined;
}

type ProviderConfig = Pick<Config, 'provider' | 'paths' | 'local' | 'static' | 'hetzner' | 'aws' | 'classes' | 'ssh' | 'lease'> & Partial<Pick<Config, 'proxy'>>;

/** SSH ports in the order the CLI tries them: primary, then fallbacks. */
function sshPorts(config: Pick<Config, 'ssh'>): number[] {
  return [...new Set([config.ssh.port, ...config.ssh.fallbackPorts])];
}

/**
 * The provider a direct-mode command talks to, from config. Cloud providers are imported on demand,
 * so a `local` run never loads the AWS SDK.
 */
export async function providerFor(config: ProviderConfig, context: ProviderContext = {}): Promise<Provider> {
  const env = context.env ?? {};
  switch (config.provider) {
    case 'hetzner': {
      const [{ hetznerToken }, { CLOUD_CAPABILITIES }, { lazyProvider }] = await Promise.all([import('./hetzner/token.ts'), import('./cloud-capabilities.ts'), import('./lazy.ts')]);
      // A missing token is reported at once; the client loads on the first API call.
      const token = hetznerToken(undefined, env);
      return lazyProvider('hetzner', CLOUD_CAPABILITIES, async () => {
        const { createHetznerProvider } = await import('./hetzner/index.ts');
        return createHetznerProvider({ settings: config.hetzner, token, classes: config.classes, ports: sshPorts(config), clock: context.clock, onEvent: context.onEvent });
      });
    }
    case 'aws': {
      const [{ resolveAwsSettings }, { CLOUD_CAPABILITIES }, { lazyProvider }] = await Promise.all([import('./aws/settings.ts'), import('./cloud-capabilities.ts'), import('./lazy.ts')]);
      // Settings are checked now (a config mistake is reported before anything else); the SDK loads on the first call.
      const settings = resolveAwsSettings(config.aws, env);
      const ports = sshPorts(config);
      const onEvent = context.onEvent;
      return lazyProvider('aws', CLOUD_CAPABILITIES, async () => {
        const [{ createAwsProvider }, { renderUserData }, { toProviderEvent }, { cloudUserCa, cloudLeaseUser, cloudLeaseSudo }] = await Promise.all([
          import('./aws/factory.ts'),
          import('../bootstrap/user-data.ts'),
          import('./aws/events.ts'),
          import('./cloud-capabilities.ts'),
        ]);
        // The class is resolved per create from the request (spec.class / spec.type), as Hetzner does.
        return createAwsProvider(settings, {
          sshPorts: ports,
          classes: config.classes,
          clock: context.clock,
          onEvent: onEvent
            ? (event) => {
                const mapped = toProviderEvent(event);
                if (mapped) onEvent(mapped);
              }
            : undefined,
          userData: (spec) => renderUserData({ sshPublicKey: spec.sshPublicKey, hostKey: spec.hostKey, ports, user: 'crabbox', workRoot: '/work/crabbox', leaseUser: cloudLeaseUser(spec), leaseSudo: cloudLeaseSudo(spec), tunnelToken: spec.tunnel?.token, userCa: cloudUserCa(spec) }),
        });
      });
    }
    case 'ssh': {
      const { createStaticProvider } = await import('./static/static-provider.ts');
      return createStaticProvider({ hosts: config.static?.hosts, stateDir: config.paths.stateDir, connectTimeoutSeconds: config.ssh.connectTimeoutSeconds, transport: config.proxy });
    }
    default:
      return localProviderFor(config);
  }
}

/**
 * Whether boxes of the named provider sit behind a firewall opened only to the caller (so a brokered CLI detects and
 * sends its address). Direct mode reads the same fact from the built provider's capabilities (billable, not local).
 */
export function providerWantsCallerCidr(name: string): boolean {
  return name === 'hetzner' || name === 'aws';
}

/** The local provider for this user's state dir (the opportunistic sweep always covers it). */
export function localProviderFor(config: Pick<Config, 'paths' | 'local'>): Provider {
  return createLocalProvider({ stateDir: config.paths.stateDir, boxesRoot: config.local.workRoot });
}

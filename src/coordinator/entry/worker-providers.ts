import type { Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { FakeProvider } from '../../providers/fake/fake-provider.ts';
import type { Provider, ProviderEvent } from '../../providers/provider.ts';
import type { WorkerConfigFile } from './worker-config.ts';

export interface WorkerProviderContext {
  /** The Worker's bindings: provider credentials are Worker secrets (HCLOUD_TOKEN, AWS_ACCESS_KEY_ID, ...). */
  env: Record<string, string | undefined>;
  file: WorkerConfigFile;
  clock: Clock;
  onEvent?: ((event: ProviderEvent) => void) | undefined;
}

/** The providers a Worker serves, built from its bindings (hetzner over fetch; aws through the SDK, which runs on Workers). */
export async function workerProviders(names: string[], ctx: WorkerProviderContext): Promise<Record<string, Provider>> {
  const ports = ctx.file.sshPorts ?? [2222, 22];
  const out: Record<string, Provider> = {};
  for (const name of names) {
    if (name === 'hetzner') {
      const { createHetznerProvider } = await import('../../providers/hetzner/index.ts');
      out[name] = createHetznerProvider({ settings: ctx.file.hetzner, env: ctx.env, classes: ctx.file.classes, ports, clock: ctx.clock, onEvent: ctx.onEvent });
    } else if (name === 'aws') {
      const [{ createAwsProvider }, { resolveAwsSettings }, { renderUserData }, { toProviderEvent }, { cloudUserCa, cloudLeaseUser, cloudLeaseSudo }] = await Promise.all([
        import('../../providers/aws/factory.ts'),
        import('../../providers/aws/settings.ts'),
        import('../../bootstrap/user-data.ts'),
        import('../../providers/aws/events.ts'),
        import('../../providers/cloud-capabilities.ts'),
      ]);
      const env = ctx.env;
      if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) throw new CrabboxError('invalid_config', 'provider aws on Workers needs the secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (there is no profile or instance role there)');
      const onEvent = ctx.onEvent;
      out[name] = createAwsProvider(resolveAwsSettings(ctx.file.aws, env), {
        sshPorts: ports,
        classes: ctx.file.classes,
        clock: ctx.clock,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) },
        onEvent: onEvent ? (event) => { const mapped = toProviderEvent(event); if (mapped) onEvent(mapped); } : undefined,
        userData: (spec) => renderUserData({ sshPublicKey: spec.sshPublicKey, hostKey: spec.hostKey, ports, user: 'crabbox', workRoot: '/work/crabbox', leaseUser: cloudLeaseUser(spec), leaseSudo: cloudLeaseSudo(spec), tunnelToken: spec.tunnel?.token, userCa: cloudUserCa(spec) }),
      });
    } else if (name === 'fake') {
      // In-memory machines: demos and the bench. Nothing is ever really created.
      out[name] = new FakeProvider({ name: 'fake', history: false, clock: ctx.clock });
    } else {
      throw new CrabboxError('invalid_config', `provider ${JSON.stringify(name)} is not available on Workers`);
    }
  }
  return out;
}

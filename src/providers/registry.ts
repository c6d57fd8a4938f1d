import type { Config } from '../config/load.ts';
import type { Provider } from './provider.ts';
import { CrabboxError } from '../domain/errors.ts';
import { createLocalProvider } from './local/local-provider.ts';

/** The provider a direct-mode command talks to, from config. */
export function providerFor(config: Pick<Config, 'provider' | 'paths' | 'local'>): Provider {
  switch (config.provider) {
    case 'local':
      return createLocalProvider({ stateDir: config.paths.stateDir, boxesRoot: config.local.workRoot });
    default:
      throw new CrabboxError('bad_request', `provider ${JSON.stringify(config.provider)} is not available in direct mode in this build`, { hint: 'use --provider local' });
  }
}

/** The local provider for this user's state dir (the opportunistic sweep always covers it). */
export function localProviderFor(config: Pick<Config, 'paths' | 'local'>): Provider {
  return createLocalProvider({ stateDir: config.paths.stateDir, boxesRoot: config.local.workRoot });
}

import type { Clock } from '../../domain/clock.ts';
import type { ClassOverrides } from '../classes.ts';
import { HetznerClient } from './client.ts';
import { hetznerToken } from './token.ts';
import { HetznerProvider, type ProviderEvent } from './provider.ts';

export interface HetznerSettings {
  apiUrl?: string | undefined;
  location?: string | undefined;
  locations?: string[] | undefined;
  image?: string | undefined;
  eurToUsd?: number | undefined;
  /** Seconds to wait for the create action and an IPv4 address. */
  readyTimeout?: number | undefined;
}

/**
 * Builds the Hetzner provider from settings and a token. The token comes from the coordinator's own config or,
 * in direct mode, from HCLOUD_TOKEN / HETZNER_TOKEN; never from repo config or a flag.
 */
export function createHetznerProvider(options: {
  settings?: HetznerSettings | undefined;
  token?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  classes?: ClassOverrides | undefined;
  ports?: number[] | undefined;
  clock?: Clock | undefined;
  onEvent?: ((event: ProviderEvent) => void) | undefined;
}): HetznerProvider {
  const token = hetznerToken(options.token, options.env ?? {});
  const s = options.settings ?? {};
  const locations = s.locations?.length ? s.locations : s.location ? [s.location] : undefined;
  return new HetznerProvider({
    client: new HetznerClient({ token, baseUrl: s.apiUrl, clock: options.clock }),
    locations,
    image: s.image,
    eurToUsd: s.eurToUsd,
    readyTimeoutMs: s.readyTimeout === undefined ? undefined : s.readyTimeout * 1000,
    classes: options.classes,
    ports: options.ports,
    clock: options.clock,
    onEvent: options.onEvent,
  });
}

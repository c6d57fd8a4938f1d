import type { ProviderEvent } from '../../provider.ts';
import { RecordingClock } from '../../fake/recording-clock.ts';
import { HetznerClient, type HetznerClientOptions } from '../client.ts';
import { HetznerProvider, type HetznerProviderOptions } from '../provider.ts';
import { startFakeHetzner, type RunningFakeHetzner } from './serve.ts';
import type { FakeHetznerOptions } from './state.ts';

/** Provider options for tests; `client` holds client options (token, URL and clock come from the harness). */
export type ProviderOverrides = Omit<Partial<HetznerProviderOptions>, 'client'> & { client?: Partial<HetznerClientOptions> };

export interface FakeHetznerSetup {
  fake: RunningFakeHetzner;
  provider: HetznerProvider;
  /** Shared by the provider and the fake; time jumps straight to the next wait (autoAdvance) until `close`. */
  clock: RecordingClock;
  /** Every sleep the provider and its client asked for, in ms. */
  sleeps: number[];
  events: ProviderEvent[];
  /** Another provider on the same fake and clock (e.g. with other client options). */
  make(options?: ProviderOverrides): HetznerProvider;
  /** What is still in the fake account: servers, SSH keys, firewalls. */
  leftovers(): string[];
  close(): Promise<void>;
}

/** Servers, SSH keys and firewalls still in the fake account. */
export function hetznerLeftovers(fake: RunningFakeHetzner): string[] {
  const s = fake.state;
  return [...[...s.servers.values()].map((x) => `server ${x.id} ${x.name}`), ...[...s.sshKeys.values()].map((k) => `ssh key ${k.name}`), ...[...s.firewalls.values()].map((f) => `firewall ${f.name}`)];
}

/**
 * A started fake Hetzner Cloud API (realistic by default: running actions, locks, detach delays, rate-limit
 * headers) and a HetznerProvider on it, on one manual clock that jumps to each wait, so polls and backoff cost no
 * real time.
 */
export async function startFakeHetznerProvider(options: ProviderOverrides & { fake?: FakeHetznerOptions } = {}): Promise<FakeHetznerSetup> {
  const clock = new RecordingClock(Date.UTC(2026, 0, 1));
  const fake = await startFakeHetzner({ clock, ...options.fake });
  const events: ProviderEvent[] = [];
  const make = (o: ProviderOverrides = {}): HetznerProvider => {
    const { client, fake: _fake, ...rest } = { ...options, ...o, client: { ...options.client, ...o.client } } as typeof options;
    return new HetznerProvider({
      locations: ['fsn1'],
      onEvent: (e) => void events.push(e),
      ...rest,
      client: new HetznerClient({ token: fake.token, baseUrl: fake.url, clock, ...client }),
      clock,
    });
  };
  const provider = make();
  const stopAdvancing = clock.autoAdvance();
  return {
    fake,
    provider,
    clock,
    sleeps: clock.sleeps,
    events,
    make,
    leftovers: () => hetznerLeftovers(fake),
    async close() {
      stopAdvancing();
      await fake.close();
    },
  };
}

import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createFakeHetznerApp } from './app.ts';
import { FakeHetznerState, type FakeHetznerOptions } from './state.ts';

export interface RunningFakeHetzner {
  state: FakeHetznerState;
  /** Base URL including `/v1`, for `hetzner.apiUrl`. */
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the fake Hetzner Cloud API on 127.0.0.1 on a free port (realistic by default; see state.ts for the knobs). */
export async function startFakeHetzner(options: { token?: string; state?: FakeHetznerState } & FakeHetznerOptions = {}): Promise<RunningFakeHetzner> {
  const state = options.state ?? new FakeHetznerState(options);
  const token = options.token ?? 'fake-hcloud-token-0123456789';
  const app = createFakeHetznerApp(state, { token });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve({ server: s, port: info.port }));
  });
  return {
    state,
    token,
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createFakeCloudflareApp } from './app.ts';
import { FakeCloudflareState, type FakeCloudflareOptions } from './state.ts';

export interface RunningFakeCloudflare {
  state: FakeCloudflareState;
  /** Base URL including `/client/v4`. */
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the fake Cloudflare API on 127.0.0.1 on a free port. */
export async function startFakeCloudflare(options: FakeCloudflareOptions & { token?: string } = {}): Promise<RunningFakeCloudflare> {
  const state = new FakeCloudflareState(options);
  const token = options.token ?? 'fake-cf-api-token-abcdef0123456789';
  const app = createFakeCloudflareApp(state, { token });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve({ server: s, port: info.port }));
  });
  return { state, token, url: `http://127.0.0.1:${port}/client/v4`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

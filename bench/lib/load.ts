// Load generators for the coordinator benchmarks: closed loops (each client sends its next request when the previous
// one answered) for a fixed number of requests or a fixed time, and a paced loop (one request per client per period).
import { nowMs } from './stats.ts';

export interface LoadResult {
  /** Per-request latencies in ms. */
  latencies: number[];
  count: number;
  perSecond: number;
}

/** `total` calls spread over `clients` concurrent closed loops. `call(client, i)` gets the call's index. */
export async function closedLoop(clients: number, total: number, call: (client: number, i: number) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  const started = nowMs();
  await Promise.all(Array.from({ length: Math.min(clients, total) }, async (_, client) => {
    while (issued < total) {
      const i = issued++;
      const t = nowMs();
      await call(client, i);
      latencies.push(nowMs() - t);
    }
  }));
  return { latencies, count: total, perSecond: total / ((nowMs() - started) / 1000) };
}

/** `clients` closed loops for `ms` milliseconds. */
export async function forDuration(clients: number, ms: number, call: (client: number, i: number) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  const started = nowMs();
  const end = started + ms;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (nowMs() < end) {
      const i = issued++;
      const t = nowMs();
      await call(client, i);
      latencies.push(nowMs() - t);
    }
  }));
  return { latencies, count: latencies.length, perSecond: latencies.length / ((nowMs() - started) / 1000) };
}

/**
 * Paced load: each of `clients` loops sends one request every `periodMs` (start times spread over the period), so
 * the server is not saturated and latency is service time rather than queueing.
 */
export async function paced(clients: number, requests: number, periodMs: number, call: (client: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const perClient = Math.max(1, Math.ceil(requests / clients));
  const start = nowMs();
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; i < perClient; i++) {
      const due = start + (client / clients) * periodMs + i * periodMs;
      const wait = due - nowMs();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const t = nowMs();
      await call(client);
      latencies.push(nowMs() - t);
    }
  }));
  return latencies;
}

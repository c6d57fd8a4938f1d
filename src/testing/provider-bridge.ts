import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from '../providers/provider.ts';

/** Serves a provider in this process over loopback HTTP for the Worker's BridgeProvider (entry/worker-testing-bridge.ts). */
export async function serveProviderBridge(provider: Provider): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = (req.url ?? '').slice(1) as 'create' | 'get' | 'list' | 'setLabels' | 'delete' | 'hourlyPrice';
      const args = JSON.parse(Buffer.concat(chunks).toString() || '[]') as unknown[];
      const fn = (provider[op] as ((...a: unknown[]) => Promise<unknown>) | undefined)?.bind(provider);
      const answer = fn ? fn(...args).then((value) => ({ ok: true, value }), (error: Error) => ({ ok: false, error: error.message })) : Promise.resolve({ ok: false, error: `no op ${op}` });
      void answer.then((body) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy in front of a fake cloud API that can freeze a process mid-operation: a held request either never
 * reaches the fake (the caller dies before the cloud acted) or reaches it while its answer never comes back (the
 * cloud acted, the caller never learned it). Tests kill the caller (`kill -9`) once the held request has arrived.
 */
export interface HoldRule {
  method: string;
  /** Matched against the path after the proxy's own prefix, e.g. `/v1/servers`. */
  pathPrefix: string;
  /** true: send it on to the fake and drop the answer; false: never send it. */
  forward: boolean;
}

export interface HoldProxy {
  url: string;
  /** Arms a rule for the next matching request; resolves once that request has arrived (and, if forwarded, the fake answered). */
  hold(rule: HoldRule): Promise<{ method: string; path: string; body: string }>;
  close(): Promise<void>;
}

export async function startHoldProxy(upstream: string): Promise<HoldProxy> {
  const rules: { rule: HoldRule; arrived: (request: { method: string; path: string; body: string }) => void }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const send = (): Promise<Response> =>
        fetch(new URL(path, upstream), {
          method,
          headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)).map(([k, v]) => [k, String(v)])),
          ...(method === 'GET' || method === 'HEAD' || body === '' ? {} : { body }),
        });
      const index = rules.findIndex(({ rule }) => rule.method === method && path.startsWith(rule.pathPrefix));
      if (index >= 0) {
        const [{ rule, arrived }] = rules.splice(index, 1) as [(typeof rules)[number]];
        if (rule.forward) void send().then((r) => r.text()).then(() => arrived({ method, path, body }), () => arrived({ method, path, body }));
        else arrived({ method, path, body });
        return; // never answered
      }
      send().then(
        async (r) => {
          const text = await r.text();
          res.writeHead(r.status, Object.fromEntries([...r.headers].filter(([k]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k))));
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (rule) => new Promise((resolve) => rules.push({ rule, arrived: resolve })),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The CLI's loopback listener for `crabbox login`: 127.0.0.1 only, a free port, one path. The coordinator
 * redirects the browser to http://127.0.0.1:<port>/callback?login=<id> after a successful callback; the hit only
 * says "poll now" (the token itself is collected with the secret), so a stray or forged hit cannot log anyone in.
 */
export interface LoopbackListener {
  port: number;
  /** Resolves when the browser arrives for `loginId`. */
  arrived: Promise<void>;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>crabbox login</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto"><h1>crabbox login finished</h1>
<p id="message">You can close this tab and return to your terminal.</p></body></html>
`;

export async function startLoopback(): Promise<LoopbackListener & { expect(loginId: string): void }> {
  let expected: string | undefined;
  let notify: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (notify = resolve));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/callback' && expected !== undefined && url.searchParams.get('login') === expected) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end(PAGE);
      notify();
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    arrived,
    expect: (loginId) => void (expected = loginId),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The CLI's loopback listener for `crabbox login`: 127.0.0.1 only, a free port, one path. After an approved
 * callback the coordinator redirects the browser to http://127.0.0.1:<port>/callback?login=<id>&code=<code>; the
 * code is half of what the token needs (the other half is the secret the CLI never sent), so a forged hit gets
 * nowhere and a wrong code simply ends the login.
 */
export interface LoopbackListener {
  port: number;
  /** Resolves with the code when the browser arrives for the expected login. */
  arrived: Promise<string>;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>crabbox login</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto"><h1>crabbox login finished</h1>
<p id="message">You can close this tab and return to your terminal.</p></body></html>
`;

export async function startLoopback(): Promise<LoopbackListener & { expect(loginId: string): void }> {
  let expected: string | undefined;
  let notify: (code: string) => void = () => {};
  const arrived = new Promise<string>((resolve) => (notify = resolve));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const code = url.searchParams.get('code');
    if (req.method === 'GET' && url.pathname === '/callback' && expected !== undefined && url.searchParams.get('login') === expected && code && /^[A-Za-z -]{1,40}$/.test(code)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end(PAGE);
      notify(code);
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

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';

/**
 * A fake Cloudflare Access in front of a coordinator, speaking Access's shapes: service tokens in CF-Access-Client-Id /
 * CF-Access-Client-Secret, a person's token in cf-access-token or the CF_Authorization cookie; an accepted request is
 * forwarded with Cf-Access-Jwt-Assertion (RS256, the application's audience, issuer https://<team>) and without the
 * credentials; a refused one gets a redirect to https://<team>/cdn-cgi/access/login/... (an Allow policy) or a bare
 * 403 page (a Service Auth policy). Its JWKS is at /cdn-cgi/access/certs, as the team domain serves it.
 */
export interface FakeAccess {
  url: string;
  jwksUrl: string;
  team: string;
  audience: string;
  /** A person's Access token (what `cloudflared access token` prints). */
  userToken(email: string): Promise<string>;
  /** Headers the coordinator received on each forwarded request. */
  forwarded: Record<string, string | string[] | undefined>[];
  close(): Promise<void>;
}

export async function startFakeAccess(options: { upstream: string; team?: string; audience?: string; serviceTokens: Record<string, string>; policy: 'service-auth' | 'allow'; forwardHeaders?: Record<string, string> }): Promise<FakeAccess> {
  const team = options.team ?? 'acme.cloudflareaccess.com';
  const audience = options.audience ?? 'fake-access-aud-0123456789abcdef';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fake-access-1', alg: 'RS256', use: 'sig' };
  const sign = (claims: Record<string, unknown>, key: CryptoKey = privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'fake-access-1' }).setIssuer(`https://${team}`).setAudience([audience]).setIssuedAt().setExpirationTime('1h').sign(key);
  const forwarded: FakeAccess['forwarded'] = [];

  const refuse = (req: IncomingMessage, res: ServerResponse, status?: 403): void => {
    const ray = { 'cf-ray': '8f00000000000000-FRA', server: 'cloudflare' };
    if (options.policy === 'allow' && status !== 403) {
      const host = req.headers.host ?? 'coordinator';
      res.writeHead(302, { ...ray, location: `https://${team}/cdn-cgi/access/login/${host}?kid=${audience}&redirect_url=${encodeURIComponent(req.url ?? '/')}` });
      res.end();
      return;
    }
    res.writeHead(403, { ...ray, 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><html><head><title>Forbidden</title></head><body>Forbidden. You don\'t have permission to view this.</body></html>');
  };

  const assertionFor = async (req: IncomingMessage): Promise<string | 'refused' | undefined> => {
    const id = req.headers['cf-access-client-id'];
    const secret = req.headers['cf-access-client-secret'];
    if (typeof id === 'string' || typeof secret === 'string') {
      return typeof id === 'string' && options.serviceTokens[id] !== undefined && options.serviceTokens[id] === secret ? sign({ common_name: id, sub: '', type: 'app' }) : 'refused';
    }
    const cookie = /(?:^|;\s*)CF_Authorization=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    const token = (req.headers['cf-access-token'] as string | undefined) ?? cookie;
    if (!token) return undefined;
    try {
      await jwtVerify(token, publicKey, { issuer: `https://${team}`, audience });
      return token;
    } catch {
      return 'refused';
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/cdn-cgi/access/certs') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      const assertion = await assertionFor(req);
      if (assertion === undefined) return refuse(req, res);
      if (assertion === 'refused') return refuse(req, res, options.policy === 'service-auth' ? 403 : undefined);
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined || k === 'host' || k === 'connection' || k.startsWith('cf-access-') || k === 'cookie') continue;
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      headers['cf-access-jwt-assertion'] = assertion;
      headers['cf-connecting-ip'] = '127.0.0.1';
      Object.assign(headers, options.forwardHeaders);
      forwarded.push({ ...headers });
      const upstream = await fetch(`${options.upstream}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, redirect: 'manual' });
      const out: Record<string, string> = { 'cf-ray': '8f00000000000001-FRA', server: 'cloudflare' };
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'content-encoding' && k !== 'transfer-encoding') out[k] = v;
      });
      res.writeHead(upstream.status, out);
      res.end(Buffer.from(await upstream.arrayBuffer()));
    })().catch((error: unknown) => {
      res.writeHead(502);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, team, audience, forwarded, jwksUrl: `${url}/cdn-cgi/access/certs`,
    userToken: (email) => sign({ email, sub: 'user-uuid', type: 'app' }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { harness, type Harness } from './testkit.ts';

const TEAM = 'acme.cloudflareaccess.com';
const AUDIENCE = 'a1b2c3d4e5f6access-aud';

describe('Cloudflare Access gate', () => {
  let server: Server;
  let h: Harness;
  let key: CryptoKey;
  let stranger: CryptoKey;
  let alice: string;
  let jwksHits = 0;
  let jwksUrl = '';
  const accessConfig = () => ({ access: { teamDomain: TEAM, audience: AUDIENCE, jwksUrl } });

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    stranger = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    server = createServer((req, res) => {
      jwksHits++;
      res.writeHead(req.url === '/cdn-cgi/access/certs' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/cdn-cgi/access/certs`;
    h = await harness({ config: accessConfig() });
    alice = await h.userToken('alice');
  });
  after(async () => {
    await h.close();
    server.close();
  });

  const jwt = (o: { aud?: string; kid?: string; signer?: CryptoKey; expiresIn?: number; email?: string } = {}) => {
    const now = Math.floor(h.clock.now() / 1000);
    return new SignJWT({ email: o.email ?? 'alice@acme.example', type: 'app' })
      .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'key-1' })
      .setIssuer(`https://${TEAM}`)
      .setAudience(o.aud ?? AUDIENCE)
      .setSubject('user-uuid')
      .setIssuedAt(now - 60)
      .setExpirationTime(now + (o.expiresIn ?? 3600))
      .sign(o.signer ?? key);
  };
  const whoami = (assertion?: string, extra: Record<string, string> = {}, on: Harness = h) => on.request('GET', '/v1/whoami', { token: alice, headers: { ...(assertion ? { 'cf-access-jwt-assertion': assertion } : {}), ...extra } });
  const reasons = async () => (await h.store.listEvents({ type: 'auth.denied', limit: 100 })).items.map((e) => (e.data as { reason: string }).reason);

  it('a valid assertion passes; the verified email is the Access identity, the bearer token still decides who acts', async () => {
    const res = await whoami(await jwt());
    assert.equal(res.status, 200);
    assert.equal(res.json.owner, 'alice@example.com');
    assert.equal(res.json.access, 'alice@acme.example');
  });

  it('the JWKS is fetched once and cached', async (t) => {
    // A coordinator of its own, so its key set starts cold whatever ran before.
    const cold = await harness({ config: accessConfig(), clock: h.clock });
    t.after(() => cold.close());
    const before = jwksHits;
    for (let i = 0; i < 3; i++) {
      const res = await whoami(await jwt(), {}, cold);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.access, 'alice@acme.example');
    }
    assert.equal(jwksHits - before, 1, 'three verified requests, one JWKS fetch');
  });

  it('a missing assertion is refused even with raw Access identity headers', async () => {
    const res = await whoami(undefined, { 'cf-access-authenticated-user-email': 'alice@acme.example' });
    assert.equal(res.status, 401);
    assert.match(res.json.message, /no Access assertion/);
    assert.ok((await reasons()).includes('access-missing'));
  });

  it('a wrong audience is refused', async () => {
    const res = await whoami(await jwt({ aud: 'another-app' }));
    assert.equal(res.status, 401);
    assert.match(res.json.message, /another application/);
    assert.ok((await reasons()).includes('access-wrong-audience'));
  });

  it('an expired assertion is refused', async () => {
    const res = await whoami(await jwt({ expiresIn: -120 }));
    assert.equal(res.status, 401);
    assert.match(res.json.message, /expired/);
    assert.ok((await reasons()).includes('access-expired'));
  });

  it('an unknown key id is refused, and so is a known kid signed by another key', async () => {
    const unknown = await whoami(await jwt({ kid: 'key-9', signer: stranger }));
    assert.equal(unknown.status, 401);
    assert.match(unknown.json.message, /unknown key/);
    assert.ok((await reasons()).includes('access-unknown-key'));
    const forged = await whoami(await jwt({ signer: stranger }));
    assert.equal(forged.status, 401);
    assert.match(forged.json.message, /not valid/);
  });

  it('health and ready stay public (load balancer probes); ready\'s detail and login start are behind the gate', async () => {
    assert.equal((await h.request('GET', '/v1/health')).status, 200);
    assert.deepEqual((await h.request('GET', '/v1/ready')).json, { ok: true });
    assert.equal((await h.request('GET', '/v1/ready/detail')).status, 401);
    assert.equal((await h.request('POST', '/v1/login/start', { body: { secretHash: 'a'.repeat(64) } })).status, 401);
  });
});

import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { CfAccessApp, CfAccessPolicy, CfInjectedError, CfTunnel, FakeCloudflareState } from './state.ts';

/** Cloudflare's failure envelope. */
function fail(c: Context, status: number, code: number, message: string): Response {
  return c.json({ success: false, errors: [{ code, message }], messages: [], result: null }, status as ContentfulStatusCode);
}

function ok(c: Context, result: unknown, status = 200): Response {
  return c.json({ success: true, errors: [], messages: [], result }, status as ContentfulStatusCode);
}

/** A page of a list with `result_info`, as the v4 list endpoints answer (per_page capped at 50 here). */
function page(c: Context, items: unknown[]): Response {
  const p = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
  const per = Math.min(50, Math.max(5, Number(c.req.query('per_page') ?? 20) || 20));
  const slice = items.slice((p - 1) * per, p * per);
  return c.json({ success: true, errors: [], messages: [], result: slice, result_info: { page: p, per_page: per, count: slice.length, total_count: items.length, total_pages: Math.max(1, Math.ceil(items.length / per)) } });
}

async function body(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = await c.req.json();
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const notRoutable = (c: Context): Response => fail(c, 404, 7003, `Could not route to ${c.req.path}, perhaps your object identifier is invalid?`);

/** A chaos fault for this request, if the seed says so: a 5xx before or after applying it, or a 429. */
function chaosFault(state: FakeCloudflareState, method: string, path: string): CfInjectedError | undefined {
  const kind = `${method} ${path.replace(/\/[0-9a-f-]{32,36}/g, '/:id')}`;
  if (!state.chaos?.strike(kind)) return undefined;
  const faults: CfInjectedError[] = [
    { method, pathPrefix: path, status: 500, code: 10001, message: 'Internal server error', times: 1 },
    { method, pathPrefix: path, status: 503, code: 10013, message: 'Service unavailable', times: 1 },
    { method, pathPrefix: path, status: 429, code: 971, message: 'Please wait and consider throttling your request speed', times: 1, retryAfterSeconds: 2 },
    ...(method !== 'GET' ? [{ method, pathPrefix: path, status: 502, code: 10002, message: 'Bad gateway', times: 1, afterApply: true }] : []),
  ];
  const fault = state.chaos.pick(faults);
  state.chaos.note(`${kind}: ${fault.status}${fault.afterApply ? ' (after applying)' : ''}`);
  return fault;
}

/**
 * A local Cloudflare v4 API for the routes tunnel mode uses (docs/tunnel.md): Cloudflare Tunnels (`cfd_tunnel`, their
 * tokens, remote-managed configuration, connections), DNS records of one zone, and Access applications with their
 * policies. Every answer is the `{success, errors, messages, result}` envelope; lists paginate with `result_info`.
 * Scripted errors (`state.errors`) and seeded chaos give 429s with Retry-After, 5xx and lost responses.
 */
export function createFakeCloudflareApp(state: FakeCloudflareState, options: { token: string }): Hono {
  const app = new Hono().basePath('/client/v4');
  const acct = `/accounts/${state.accountId}`;

  app.use('*', async (c, next) => {
    const path = c.req.path.slice('/client/v4'.length);
    const raw = c.req.method === 'GET' || c.req.method === 'DELETE' ? undefined : await c.req.raw.clone().text();
    const entry: FakeCloudflareState['requests'][number] = { method: c.req.method, path: path + (new URL(c.req.url).search || ''), body: raw, authorization: c.req.header('authorization') };
    state.requests.push(entry);
    if (c.req.header('authorization') !== `Bearer ${options.token}`) {
      entry.status = 403;
      return fail(c, 403, 10000, 'Authentication error');
    }
    const scripted = state.errors.find((e) => e.times > 0 && e.method === c.req.method && path.startsWith(e.pathPrefix));
    if (scripted) scripted.times--;
    const fault = scripted ?? chaosFault(state, c.req.method, path);
    const answer = (f: CfInjectedError): Response => {
      if (f.retryAfterSeconds) c.header('retry-after', String(f.retryAfterSeconds));
      return fail(c, f.status, f.code, f.message ?? `injected ${f.status}`);
    };
    if (fault && !fault.afterApply) {
      entry.status = fault.status;
      return answer(fault);
    }
    await next();
    if (fault && c.res.ok) c.res = answer(fault);
    entry.status = c.res.status;
  });

  // Tunnels
  app.get(`${acct}/cfd_tunnel`, (c) => {
    const name = c.req.query('name');
    const prefix = c.req.query('include_prefix');
    const deleted = c.req.query('is_deleted');
    const list = [...state.tunnels.values()].filter((t) => (!name || t.name === name) && (!prefix || t.name.startsWith(prefix)) && (deleted === 'true' ? true : t.deleted_at === null));
    return page(c, list);
  });
  app.post(`${acct}/cfd_tunnel`, async (c) => {
    const b = await body(c);
    const name = typeof b?.name === 'string' ? b.name : '';
    if (!/^[\w.-]{1,64}$/.test(name)) return fail(c, 400, 1001, 'Invalid tunnel name');
    if ([...state.tunnels.values()].some((t) => t.name === name && !t.deleted_at)) return fail(c, 409, 1013, 'You already have a tunnel with this name');
    const t: CfTunnel = {
      id: state.newId(), account_tag: state.accountId, name, created_at: state.iso(), deleted_at: null, connections: [], conns_active_at: null, conns_inactive_at: null,
      tun_type: 'cfd_tunnel', metadata: {}, status: 'inactive', remote_config: b?.config_src === 'cloudflare', config_src: b?.config_src === 'cloudflare' ? 'cloudflare' : 'local',
    };
    state.tunnels.set(t.id, t);
    state.secrets.set(t.id, typeof b?.tunnel_secret === 'string' ? b.tunnel_secret : randomBytes(32).toString('base64'));
    return ok(c, t);
  });
  const liveTunnel = (c: Context): CfTunnel | undefined => {
    const t = state.tunnels.get(c.req.param('id') ?? '');
    return t && !t.deleted_at ? t : undefined;
  };
  const tunnelGone = (c: Context): Response => fail(c, 404, 1003, 'Tunnel not found');
  app.get(`${acct}/cfd_tunnel/:id`, (c) => {
    const t = state.tunnels.get(c.req.param('id'));
    return t ? ok(c, t) : tunnelGone(c);
  });
  app.get(`${acct}/cfd_tunnel/:id/token`, (c) => {
    const t = liveTunnel(c);
    return t ? ok(c, state.tokenFor(t)) : tunnelGone(c);
  });
  app.put(`${acct}/cfd_tunnel/:id/configurations`, async (c) => {
    const t = liveTunnel(c);
    if (!t) return tunnelGone(c);
    const b = await body(c);
    const ingress = (b?.config as { ingress?: unknown } | undefined)?.ingress;
    if (!Array.isArray(ingress) || ingress.length === 0) return fail(c, 400, 1055, 'Invalid configuration: ingress rules are required');
    const last = ingress.at(-1) as { hostname?: unknown; service?: unknown };
    if (last.hostname !== undefined || typeof last.service !== 'string') return fail(c, 400, 1056, 'The last ingress rule must match all URLs (no hostname)');
    state.ingress.set(t.id, ingress);
    return ok(c, { tunnel_id: t.id, version: 1, config: { ingress }, source: 'cloudflare', created_at: state.iso() });
  });
  app.delete(`${acct}/cfd_tunnel/:id/connections`, (c) => {
    const t = liveTunnel(c);
    if (!t) return tunnelGone(c);
    t.connections = [];
    t.status = 'down';
    t.conns_inactive_at = state.iso();
    return ok(c, null);
  });
  app.delete(`${acct}/cfd_tunnel/:id`, (c) => {
    const t = liveTunnel(c);
    if (!t) return tunnelGone(c);
    if (t.connections.length > 0) return fail(c, 400, 1022, 'Cannot delete tunnel because it has active connections. Clean up the connections first.');
    t.deleted_at = state.iso();
    return ok(c, t);
  });

  // DNS records of the one zone
  const zone = `/zones/${state.zone.id}`;
  app.get(`${zone}/dns_records`, (c) => {
    const name = c.req.query('name');
    const type = c.req.query('type');
    const startsWith = c.req.query('comment.startswith');
    const list = [...state.dnsRecords.values()].filter((r) => (!name || r.name === name) && (!type || r.type === type) && (!startsWith || (r.comment ?? '').startsWith(startsWith)));
    return page(c, list);
  });
  app.post(`${zone}/dns_records`, async (c) => {
    const b = await body(c);
    const name = typeof b?.name === 'string' ? b.name.toLowerCase() : '';
    if (!name.endsWith(`.${state.zone.name}`) && name !== state.zone.name) return fail(c, 400, 9005, 'Content for CNAME record is invalid: the record name must be in the zone');
    if (typeof b?.type !== 'string' || typeof b.content !== 'string') return fail(c, 400, 9000, 'DNS name, type and content are required');
    if (typeof b.comment === 'string' && b.comment.length > 100) return fail(c, 400, 9102, 'DNS record comment is too long (at most 100 characters)');
    if ([...state.dnsRecords.values()].some((r) => r.name === name)) return fail(c, 400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    const at = state.iso();
    const r = {
      id: randomBytes(16).toString('hex'), zone_id: state.zone.id, zone_name: state.zone.name, name, type: b.type, content: b.content, proxiable: true,
      proxied: b.proxied === true, ttl: typeof b.ttl === 'number' ? b.ttl : 1, comment: typeof b.comment === 'string' ? b.comment : null, tags: [], created_on: at, modified_on: at,
    };
    state.dnsRecords.set(r.id, r);
    return ok(c, r);
  });
  app.delete(`${zone}/dns_records/:id`, (c) => {
    const id = c.req.param('id');
    if (!state.dnsRecords.delete(id)) return fail(c, 404, 81044, 'Record does not exist.');
    return ok(c, { id });
  });

  // Access applications and their policies
  app.get(`${acct}/access/apps`, (c) => {
    const name = c.req.query('name');
    return page(c, [...state.accessApps.values()].filter((a) => !name || a.name === name));
  });
  app.post(`${acct}/access/apps`, async (c) => {
    const b = await body(c);
    if (typeof b?.name !== 'string' || typeof b.domain !== 'string' || b.type !== 'self_hosted') return fail(c, 400, 12130, 'access.api.error.invalid_request: name, domain and type self_hosted are required');
    if ([...state.accessApps.values()].some((a) => a.domain === b.domain)) return fail(c, 409, 12130, 'access.api.error.conflict: an application with that domain already exists');
    const at = state.iso();
    const id = state.newId();
    const a: CfAccessApp = { id, uid: id, aud: randomBytes(32).toString('hex'), name: b.name, domain: b.domain, type: 'self_hosted', session_duration: typeof b.session_duration === 'string' ? b.session_duration : '24h', app_launcher_visible: false, created_at: at, updated_at: at, policies: [] };
    state.accessApps.set(a.id, a);
    return ok(c, a, 201);
  });
  app.delete(`${acct}/access/apps/:id`, (c) => {
    const id = c.req.param('id');
    if (!state.accessApps.delete(id)) return fail(c, 404, 12130, 'access.api.error.not_found: application not found');
    return ok(c, { id });
  });
  app.post(`${acct}/access/apps/:id/policies`, async (c) => {
    const a = state.accessApps.get(c.req.param('id'));
    if (!a) return fail(c, 404, 12130, 'access.api.error.not_found: application not found');
    const b = await body(c);
    if (typeof b?.name !== 'string' || !['allow', 'deny', 'non_identity', 'bypass'].includes(String(b.decision)) || !Array.isArray(b.include) || b.include.length === 0) {
      return fail(c, 400, 12130, 'access.api.error.invalid_request: a policy needs a name, a decision and at least one include rule');
    }
    const at = state.iso();
    const p: CfAccessPolicy = { id: state.newId(), name: b.name, decision: b.decision as CfAccessPolicy['decision'], include: b.include, exclude: Array.isArray(b.exclude) ? b.exclude : [], require: Array.isArray(b.require) ? b.require : [], precedence: typeof b.precedence === 'number' ? b.precedence : a.policies.length + 1, created_at: at, updated_at: at };
    a.policies.push(p);
    return ok(c, p, 201);
  });
  app.get(`${acct}/access/apps/:id/policies`, (c) => {
    const a = state.accessApps.get(c.req.param('id'));
    return a ? page(c, a.policies) : fail(c, 404, 12130, 'access.api.error.not_found: application not found');
  });

  app.notFound(notRoutable);
  return app;
}

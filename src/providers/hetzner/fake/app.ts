import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { HFirewall, HFirewallRule, HServer, HSshKey } from '../api.ts';
import type { FakeHetznerState, InjectedError } from './state.ts';

/** Hetzner's error body: `{"error": {"code", "message", "details"}}`. */
function fail(c: Context, status: number, code: string, message: string, details: unknown = null): Response {
  return c.json({ error: { code, message, details } }, status as ContentfulStatusCode);
}

const LABEL_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** Hetzner's label rules: key = optional DNS prefix + name (≤63), value ≤63, alphanumeric at both ends. */
export function invalidLabel(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return 'labels must be an object';
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    const parts = key.split('/');
    const name = parts.pop()!;
    if (parts.length > 1 || (parts[0] !== undefined && !LABEL_PREFIX.test(parts[0])) || !LABEL_NAME.test(name)) return `invalid label key ${key}`;
    if (typeof value !== 'string' || (value !== '' && !LABEL_NAME.test(value))) return `invalid label value for ${key}`;
  }
  return undefined;
}

/** Supports `k=v`, `k==v`, `k!=v`, `k` and `!k`, joined by commas (AND). */
export function matchSelector(selector: string | undefined, labels: Record<string, string>): boolean | 'invalid' {
  if (!selector) return true;
  for (const term of selector.split(',').map((t) => t.trim())) {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*([^=\s]*)$/.exec(term))) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      if ((op === '!=') === (labels[k] === v)) return false;
    } else if ((m = /^!([^!=\s]+)$/.exec(term))) {
      if (m[1]! in labels) return false;
    } else if (/^[^!=\s]+$/.test(term)) {
      if (!(term in labels)) return false;
    } else return 'invalid';
  }
  return true;
}

function paginate<T>(c: Context, key: string, items: T[]): Response {
  const page = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
  const perPage = Math.min(50, Math.max(1, Number(c.req.query('per_page') ?? 25) || 25));
  const last = Math.max(1, Math.ceil(items.length / perPage));
  return c.json({
    [key]: items.slice((page - 1) * perPage, page * perPage),
    meta: { pagination: { page, per_page: perPage, previous_page: page > 1 ? page - 1 : null, next_page: page < last ? page + 1 : null, last_page: last, total_entries: items.length } },
  });
}

async function body(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = await c.req.json();
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Statuses Hetzner answers its error codes with. */
const STATUS: Record<string, number> = { locked: 423, rate_limit_exceeded: 429, service_error: 503, server_error: 500, unavailable: 503, uniqueness_error: 409, resource_unavailable: 403, resource_limit_exceeded: 403, invalid_input: 400, not_found: 404, resource_in_use: 422 };

/** Route kinds chaos keeps its streaks for: one per method and collection. */
function routeKind(method: string, path: string): string {
  return `${method} ${path.replace(/\/\d+/g, '/:id')}`;
}

/** A chaos fault for this request, if the seed says so: a transient error before or after applying it, or a 429. */
function chaosFault(state: FakeHetznerState, method: string, path: string): InjectedError | undefined {
  const chaos = state.chaos;
  const kind = routeKind(method, path);
  if (!chaos || !chaos.strike(kind)) return undefined;
  const mutating = method !== 'GET';
  const options: InjectedError[] = [
    { method, pathPrefix: path, status: 503, code: 'service_error', message: 'service unavailable', times: 1 },
    { method, pathPrefix: path, status: 500, code: 'server_error', message: 'internal server error', times: 1 },
    { method, pathPrefix: path, status: 429, code: 'rate_limit_exceeded', message: 'limit of 3600 requests per hour reached', times: 1 },
    ...(mutating ? [{ method, pathPrefix: path, status: 503, code: 'service_error', message: 'service unavailable', times: 1, afterApply: true }] : []),
    ...(kind === 'POST /servers'
      ? [
          { method, pathPrefix: path, status: 403, code: 'resource_unavailable', message: 'server type is currently not available in this location', times: 1 },
          { method, pathPrefix: path, status: 400, code: 'invalid_input', message: 'unsupported location for server type', times: 1 },
        ]
      : []),
  ];
  const fault = chaos.pick(options);
  chaos.note(`${kind}: ${fault.code}${fault.afterApply ? ' (after applying)' : ''}`);
  return fault;
}

/**
 * A local Hetzner Cloud API (the `/v1` routes Crabbox uses), realistic by default: create actions run for a while
 * and lock their server, deleted servers' firewalls detach later, every answer carries the RateLimit-* headers and the
 * hourly budget runs out. Scripted faults and seeded chaos come on top.
 */
export function createFakeHetznerApp(state: FakeHetznerState, options: { token: string }): Hono {
  const app = new Hono().basePath('/v1');

  app.use('*', async (c, next) => {
    const path = c.req.path.slice(3);
    const raw = c.req.method === 'GET' || c.req.method === 'DELETE' ? undefined : await c.req.raw.clone().text();
    const entry: FakeHetznerState['requests'][number] = { method: c.req.method, path: path + (new URL(c.req.url).search || ''), body: raw ? JSON.parse(raw) : undefined, at: state.clock.now() };
    state.requests.push(entry);
    const finish = async (res: Response): Promise<Response> => {
      entry.status = res.status;
      const text = res.status === 204 ? '' : await res.clone().text();
      const json: unknown = text ? JSON.parse(text) : undefined;
      entry.code = res.ok ? undefined : (json as { error?: { code?: string } } | undefined)?.error?.code;
      state.responses.push({ method: c.req.method, route: routeKind(c.req.method, path), status: res.status, body: json });
      return res;
    };
    if (c.req.header('authorization') !== `Bearer ${options.token}`) return finish(fail(c, 401, 'unauthorized', 'unable to authenticate'));
    const meter = state.meter();
    for (const [k, v] of Object.entries(meter.headers)) c.header(k, v);
    if (!meter.allowed) return finish(fail(c, 429, 'rate_limit_exceeded', 'limit of requests per hour reached'));
    const scripted = state.faults.errors.find((e) => e.times > 0 && e.method === c.req.method && path.startsWith(e.pathPrefix));
    if (scripted) scripted.times--;
    const fault = scripted ?? chaosFault(state, c.req.method, path);
    if (fault && !fault.afterApply) return finish(fail(c, fault.status, fault.code, fault.message ?? `injected ${fault.code}`));
    await next();
    // A lost response: the request was applied, but the client hears an error.
    if (fault && c.res.ok) c.res = fail(c, fault.status, fault.code, fault.message ?? `injected ${fault.code}`);
    c.res = await finish(c.res);
  });

  // Servers
  app.get('/servers', (c) => {
    const selector = c.req.query('label_selector');
    const name = c.req.query('name');
    const servers = [...state.servers.values()].filter((s) => (!name || s.name === name) && matchSelector(selector, s.labels) === true);
    if (selector && [...state.servers.values()].some((s) => matchSelector(selector, s.labels) === 'invalid')) return fail(c, 400, 'invalid_input', 'invalid label_selector');
    return paginate(c, 'servers', servers.map((s) => state.serverView(s)));
  });
  app.post('/servers', async (c) => {
    const b = await body(c);
    if (!b) return fail(c, 400, 'json_error', 'invalid JSON');
    const { name, server_type: type, image, location } = b as Record<string, string>;
    if (!name || !type || !image) return fail(c, 400, 'invalid_input', 'name, server_type and image are required');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) return fail(c, 400, 'invalid_input', `invalid name ${name}`, { fields: [{ name: 'name', messages: ['invalid hostname'] }] });
    const labelProblem = invalidLabel(b.labels);
    if (labelProblem) return fail(c, 400, 'invalid_input', labelProblem, { fields: [{ name: 'labels', messages: [labelProblem] }] });
    if (!state.serverTypes.some((t) => t.name === type)) return fail(c, 400, 'invalid_input', `server type ${type} not found`, { fields: [{ name: 'server_type', messages: ['server type not found'] }] });
    if (location && !state.locations.includes(location)) return fail(c, 400, 'invalid_input', `location ${location} not found`, { fields: [{ name: 'location', messages: ['location not found'] }] });
    if ([...state.servers.values()].some((s) => s.name === name)) return fail(c, 409, 'uniqueness_error', 'server name is already used', { fields: [{ name: 'name', messages: ['is already used'] }] });
    if (state.faults.unsupported.has(`${type}@${location ?? 'fsn1'}`)) return fail(c, 400, 'invalid_input', 'unsupported location for server type', { fields: [{ name: 'location', messages: ['unsupported location for server type'] }] });
    if (state.faults.capacityTypes.has(type)) return fail(c, STATUS.resource_unavailable!, 'resource_unavailable', `server type ${type} is currently unavailable in ${location ?? 'this location'}`);
    if (state.faults.quotaTypes.has(type)) return fail(c, STATUS.resource_limit_exceeded!, 'resource_limit_exceeded', 'dedicated_core_limit exceeded', { limits: [{ name: 'dedicated_core_limit' }] });
    for (const ref of (b.ssh_keys as (number | string)[] | undefined) ?? []) {
      if (![...state.sshKeys.values()].some((k) => k.id === ref || k.name === ref)) return fail(c, 400, 'invalid_input', `ssh key ${ref} not found`);
    }
    const firewallIds = ((b.firewalls as { firewall: number }[] | undefined) ?? []).map((f) => f.firewall);
    for (const id of firewallIds) if (!state.firewalls.has(id)) return fail(c, 400, 'invalid_input', `firewall ${id} not found`);
    const slow = state.faults.slowIp;
    const server: HServer = {
      id: state.id(),
      name,
      status: 'running',
      created: state.now().toISOString(),
      labels: { ...((b.labels as Record<string, string>) ?? {}) },
      server_type: { name: type },
      location: { name: location ?? 'fsn1' },
      public_net: { ipv4: slow ? null : { ip: state.ip() }, firewalls: firewallIds.map((id) => ({ id, status: 'applied' })) },
    };
    for (const id of firewallIds) state.firewalls.get(id)!.applied_to.push({ type: 'server', server: { id: server.id } });
    // The create runs for a while (chaos: 1-20 s, and sometimes it ends on a placement failure).
    const chaos = state.chaos;
    const scriptedError = state.faults.createActionErrors.shift();
    const chaosError = chaos && chaos.strike('create_server action', 0.15) ? 'placement_error' : undefined;
    const errorCode = scriptedError ?? chaosError;
    if (chaosError) chaos?.note(`create_server ${server.id}: action ends in ${chaosError}`);
    const ms = chaos ? chaos.int(1_000, 20_000) : state.createActionMs;
    const action = state.createServer(server, ms, errorCode ? { code: errorCode, message: errorCode === 'placement_error' ? 'error during placement' : `injected ${errorCode}` } : 'success');
    const start = state.startAction('start_server', ms, [{ id: server.id, type: 'server' }]);
    // Hetzner answers a root password when the server was made without SSH keys (and mails it), null otherwise.
    const keyless = ((b.ssh_keys as unknown[] | undefined) ?? []).length === 0;
    return c.json({ server: state.serverView(server), action, next_actions: [start], root_password: keyless ? `fake-root-${server.id}` : null }, 201);
  });
  app.get('/servers/:id', (c) => {
    const server = state.servers.get(Number(c.req.param('id')));
    return server ? c.json({ server: state.serverView(server) }) : fail(c, 404, 'not_found', 'server not found');
  });
  app.put('/servers/:id', async (c) => {
    const server = state.servers.get(Number(c.req.param('id')));
    if (!server) return fail(c, 404, 'not_found', 'server not found');
    const b = await body(c);
    const labelProblem = invalidLabel(b?.labels);
    if (labelProblem) return fail(c, 400, 'invalid_input', labelProblem);
    if (b?.labels) server.labels = { ...(b.labels as Record<string, string>) };
    return c.json({ server: state.serverView(server) });
  });
  app.delete('/servers/:id', (c) => {
    const id = Number(c.req.param('id'));
    if (!state.servers.has(id)) return fail(c, 404, 'not_found', 'server not found');
    if (state.locked(id)) return fail(c, STATUS.locked!, 'locked', 'server is locked, another action is running');
    state.deleteServer(id);
    return c.json({ action: state.startAction('delete_server', 2_000, [{ id, type: 'server' }]) });
  });

  app.get('/servers/:id/actions', (c) => {
    const id = Number(c.req.param('id'));
    if (!state.servers.has(id)) return fail(c, 404, 'not_found', 'server not found');
    const status = c.req.query('status');
    return paginate(c, 'actions', state.actionsOf(id).filter((a) => !status || a.status === status));
  });

  // Actions
  app.get('/actions/:id', (c) => {
    const action = state.action(Number(c.req.param('id')));
    return action ? c.json({ action }) : fail(c, 404, 'not_found', 'action not found');
  });

  // SSH keys
  app.get('/ssh_keys', (c) => {
    const name = c.req.query('name');
    return paginate(c, 'ssh_keys', [...state.sshKeys.values()].filter((k) => (!name || k.name === name) && matchSelector(c.req.query('label_selector'), k.labels) === true));
  });
  app.post('/ssh_keys', async (c) => {
    const b = await body(c);
    const name = b?.name as string | undefined;
    const publicKey = b?.public_key as string | undefined;
    if (!name || !publicKey || !/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(publicKey)) return fail(c, 400, 'invalid_input', 'name and a valid public_key are required');
    if (invalidLabel(b?.labels)) return fail(c, 400, 'invalid_input', invalidLabel(b?.labels)!);
    const body64 = publicKey.split(/\s+/).slice(0, 2).join(' ');
    if ([...state.sshKeys.values()].some((k) => k.name === name || k.public_key.split(/\s+/).slice(0, 2).join(' ') === body64)) {
      return fail(c, 409, 'uniqueness_error', 'SSH key with the same name or fingerprint already exists', { fields: [{ name: 'public_key', messages: ['already used'] }] });
    }
    const key: HSshKey = { id: state.id(), name, public_key: publicKey, fingerprint: fingerprintOf(body64), created: state.now().toISOString(), labels: { ...((b?.labels as Record<string, string>) ?? {}) } };
    state.sshKeys.set(key.id, key);
    return c.json({ ssh_key: key }, 201);
  });
  app.delete('/ssh_keys/:id', (c) => (state.sshKeys.delete(Number(c.req.param('id'))) ? c.body(null, 204) : fail(c, 404, 'not_found', 'ssh key not found')));

  // Firewalls
  const firewallView = (f: HFirewall): HFirewall => ({ ...f, applied_to: state.appliedTo(f) });
  app.get('/firewalls', (c) => {
    const name = c.req.query('name');
    return paginate(c, 'firewalls', [...state.firewalls.values()].filter((f) => (!name || f.name === name) && matchSelector(c.req.query('label_selector'), f.labels) === true).map(firewallView));
  });
  app.post('/firewalls', async (c) => {
    const b = await body(c);
    const name = b?.name as string | undefined;
    if (!name) return fail(c, 400, 'invalid_input', 'name is required');
    if ([...state.firewalls.values()].some((f) => f.name === name)) return fail(c, 409, 'uniqueness_error', 'firewall with the same name already exists', { fields: [{ name: 'name', messages: ['already used'] }] });
    const rules = (b?.rules as HFirewallRule[] | undefined) ?? [];
    const bad = rules.find((r) => r.direction === 'in' && (!Array.isArray(r.source_ips) || r.source_ips.length === 0));
    if (bad) return fail(c, 400, 'invalid_input', 'inbound rules need source_ips');
    const firewall: HFirewall = { id: state.id(), name, created: state.now().toISOString(), labels: { ...((b?.labels as Record<string, string>) ?? {}) }, rules: rules.map(ruleView), applied_to: [] };
    state.firewalls.set(firewall.id, firewall);
    return c.json({ firewall, actions: [] }, 201);
  });
  app.post('/firewalls/:id/actions/set_rules', async (c) => {
    const firewall = state.firewalls.get(Number(c.req.param('id')));
    if (!firewall) return fail(c, 404, 'not_found', 'firewall not found');
    firewall.rules = (((await body(c))?.rules as HFirewallRule[] | undefined) ?? []).map(ruleView);
    return c.json({ actions: [state.startAction('set_firewall_rules', 1_000, [{ id: firewall.id, type: 'firewall' }])] }, 201);
  });
  app.delete('/firewalls/:id', (c) => {
    const firewall = state.firewalls.get(Number(c.req.param('id')));
    if (!firewall) return fail(c, 404, 'not_found', 'firewall not found');
    if (state.appliedTo(firewall).length > 0) return fail(c, STATUS.resource_in_use!, 'resource_in_use', 'firewall is still applied to resources');
    state.firewalls.delete(firewall.id);
    return c.body(null, 204);
  });

  // Types and prices
  app.get('/server_types', (c) => {
    const name = c.req.query('name');
    return paginate(c, 'server_types', state.serverTypes.filter((t) => !name || t.name === name).map((t) => state.serverTypeView(t)));
  });
  app.get('/pricing', (c) => c.json({ pricing: { currency: 'EUR', vat_rate: '19.00', server_types: state.serverTypes.map((t) => ({ id: t.id, name: t.name, prices: t.prices })) } }));

  app.notFound((c) => fail(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  return app;
}

/** A firewall rule as the API answers it: every field present, null where unset (schema.FirewallRule). */
function ruleView(r: HFirewallRule): HFirewallRule {
  return { direction: r.direction, protocol: r.protocol, port: r.port ?? null, source_ips: r.source_ips ?? [], destination_ips: r.destination_ips ?? [], description: r.description ?? null } as unknown as HFirewallRule;
}

/** An MD5-style colon fingerprint, like the API's (derived from the key body; not the real MD5, which does not matter here). */
function fingerprintOf(keyBody: string): string {
  let h = 0;
  const out: string[] = [];
  for (let i = 0; i < 16; i++) {
    for (const ch of keyBody) h = (Math.imul(h, 31) + ch.charCodeAt(0) + i) | 0;
    out.push(((h >>> 0) & 0xff).toString(16).padStart(2, '0'));
  }
  return out.join(':');
}

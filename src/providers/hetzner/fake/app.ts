import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { HFirewall, HFirewallRule, HServer, HSshKey } from '../api.ts';
import type { FakeHetznerState } from './state.ts';

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

/** A local Hetzner Cloud API (the `/v1` routes Crabbox uses) with scriptable faults, for tests. */
export function createFakeHetznerApp(state: FakeHetznerState, options: { token: string }): Hono {
  const app = new Hono().basePath('/v1');

  app.use('*', async (c, next) => {
    const path = c.req.path.slice(3);
    const raw = c.req.method === 'GET' || c.req.method === 'DELETE' ? undefined : await c.req.raw.clone().text();
    state.requests.push({ method: c.req.method, path: path + (new URL(c.req.url).search || ''), body: raw ? JSON.parse(raw) : undefined });
    if (c.req.header('authorization') !== `Bearer ${options.token}`) return fail(c, 401, 'unauthorized', 'unable to authenticate');
    const injected = state.faults.errors.find((e) => e.times > 0 && e.method === c.req.method && path.startsWith(e.pathPrefix));
    if (injected) {
      injected.times--;
      return fail(c, injected.status, injected.code, injected.message ?? `injected ${injected.code}`);
    }
    await next();
  });

  // Servers
  app.get('/servers', (c) => {
    const selector = c.req.query('label_selector');
    const name = c.req.query('name');
    const servers = [...state.servers.values()].filter((s) => (!name || s.name === name) && matchSelector(selector, s.labels) === true);
    if (selector && [...state.servers.values()].some((s) => matchSelector(selector, s.labels) === 'invalid')) return fail(c, 400, 'invalid_input', 'invalid label_selector');
    return paginate(c, 'servers', servers);
  });
  app.post('/servers', async (c) => {
    const b = await body(c);
    if (!b) return fail(c, 400, 'json_error', 'invalid JSON');
    const { name, server_type: type, image, location } = b as Record<string, string>;
    if (!name || !type || !image) return fail(c, 400, 'invalid_input', 'name, server_type and image are required');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) return fail(c, 400, 'invalid_input', `invalid name ${name}`, { fields: [{ name: 'name', messages: ['invalid hostname'] }] });
    const labelProblem = invalidLabel(b.labels);
    if (labelProblem) return fail(c, 400, 'invalid_input', labelProblem, { fields: [{ name: 'labels', messages: [labelProblem] }] });
    if (!state.serverTypes.some((t) => t.name === type)) return fail(c, 400, 'invalid_input', `server type ${type} not found`);
    if (location && !state.locations.includes(location)) return fail(c, 400, 'invalid_input', `location ${location} not found`);
    if ([...state.servers.values()].some((s) => s.name === name)) return fail(c, 409, 'uniqueness_error', 'server name is already used', { fields: [{ name: 'name' }] });
    if (state.faults.capacityTypes.has(type)) return fail(c, 412, 'resource_unavailable', `server type ${type} is currently unavailable in ${location ?? 'this location'}`);
    if (state.faults.quotaTypes.has(type)) return fail(c, 403, 'resource_limit_exceeded', 'dedicated_core_limit exceeded', { limits: [{ name: 'dedicated_core_limit' }] });
    for (const ref of (b.ssh_keys as (number | string)[] | undefined) ?? []) {
      if (![...state.sshKeys.values()].some((k) => k.id === ref || k.name === ref)) return fail(c, 400, 'invalid_input', `ssh key ${ref} not found`);
    }
    const firewallIds = ((b.firewalls as { firewall: number }[] | undefined) ?? []).map((f) => f.firewall);
    for (const id of firewallIds) if (!state.firewalls.has(id)) return fail(c, 400, 'invalid_input', `firewall ${id} not found`);
    const slow = state.faults.slowIp;
    const server: HServer = {
      id: state.id(),
      name,
      status: slow ? 'initializing' : 'running',
      created: state.now().toISOString(),
      labels: { ...((b.labels as Record<string, string>) ?? {}) },
      server_type: { name: type },
      datacenter: { name: `${location ?? 'fsn1'}-dc1`, location: { name: location ?? 'fsn1' } },
      public_net: { ipv4: slow ? null : { ip: state.ip() }, firewalls: firewallIds.map((id) => ({ id, status: 'applied' })) },
    };
    state.servers.set(server.id, server);
    for (const id of firewallIds) state.firewalls.get(id)!.applied_to.push({ type: 'server', server: { id: server.id } });
    const action = state.action('create_server', slow ? 'running' : 'success');
    return c.json({ server, action, next_actions: [state.action('start_server', slow ? 'running' : 'success')], root_password: null }, 201);
  });
  app.get('/servers/:id', (c) => {
    const server = state.servers.get(Number(c.req.param('id')));
    return server ? c.json({ server }) : fail(c, 404, 'not_found', 'server not found');
  });
  app.put('/servers/:id', async (c) => {
    const server = state.servers.get(Number(c.req.param('id')));
    if (!server) return fail(c, 404, 'not_found', 'server not found');
    const b = await body(c);
    const labelProblem = invalidLabel(b?.labels);
    if (labelProblem) return fail(c, 400, 'invalid_input', labelProblem);
    if (b?.labels) server.labels = { ...(b.labels as Record<string, string>) };
    return c.json({ server });
  });
  app.delete('/servers/:id', (c) => {
    const id = Number(c.req.param('id'));
    if (!state.servers.delete(id)) return fail(c, 404, 'not_found', 'server not found');
    for (const fw of state.firewalls.values()) fw.applied_to = fw.applied_to.filter((a) => a.server?.id !== id);
    return c.json({ action: state.action('delete_server') });
  });

  // Actions
  app.get('/actions/:id', (c) => {
    const action = state.actions.get(Number(c.req.param('id')));
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
      return fail(c, 409, 'uniqueness_error', 'SSH key with the same name or fingerprint already exists');
    }
    const key: HSshKey = { id: state.id(), name, public_key: publicKey, fingerprint: `fp:${name}`, created: state.now().toISOString(), labels: { ...((b?.labels as Record<string, string>) ?? {}) } };
    state.sshKeys.set(key.id, key);
    return c.json({ ssh_key: key }, 201);
  });
  app.delete('/ssh_keys/:id', (c) => (state.sshKeys.delete(Number(c.req.param('id'))) ? c.body(null, 204) : fail(c, 404, 'not_found', 'ssh key not found')));

  // Firewalls
  app.get('/firewalls', (c) => {
    const name = c.req.query('name');
    return paginate(c, 'firewalls', [...state.firewalls.values()].filter((f) => (!name || f.name === name) && matchSelector(c.req.query('label_selector'), f.labels) === true));
  });
  app.post('/firewalls', async (c) => {
    const b = await body(c);
    const name = b?.name as string | undefined;
    if (!name) return fail(c, 400, 'invalid_input', 'name is required');
    if ([...state.firewalls.values()].some((f) => f.name === name)) return fail(c, 409, 'uniqueness_error', 'firewall name is already used');
    const rules = (b?.rules as HFirewallRule[] | undefined) ?? [];
    const bad = rules.find((r) => r.direction === 'in' && (!Array.isArray(r.source_ips) || r.source_ips.length === 0));
    if (bad) return fail(c, 400, 'invalid_input', 'inbound rules need source_ips');
    const firewall: HFirewall = { id: state.id(), name, created: state.now().toISOString(), labels: { ...((b?.labels as Record<string, string>) ?? {}) }, rules, applied_to: [] };
    state.firewalls.set(firewall.id, firewall);
    return c.json({ firewall, actions: [] }, 201);
  });
  app.post('/firewalls/:id/actions/set_rules', async (c) => {
    const firewall = state.firewalls.get(Number(c.req.param('id')));
    if (!firewall) return fail(c, 404, 'not_found', 'firewall not found');
    firewall.rules = ((await body(c))?.rules as HFirewallRule[] | undefined) ?? [];
    return c.json({ actions: [state.action('set_firewall_rules')] }, 201);
  });
  app.delete('/firewalls/:id', (c) => {
    const firewall = state.firewalls.get(Number(c.req.param('id')));
    if (!firewall) return fail(c, 404, 'not_found', 'firewall not found');
    if (firewall.applied_to.length > 0) return fail(c, 422, 'resource_in_use', 'firewall is still applied to resources');
    state.firewalls.delete(firewall.id);
    return c.body(null, 204);
  });

  // Types and prices
  app.get('/server_types', (c) => {
    const name = c.req.query('name');
    return paginate(c, 'server_types', state.serverTypes.filter((t) => !name || t.name === name));
  });
  app.get('/pricing', (c) => c.json({ pricing: { currency: 'EUR', vat_rate: '19.00', server_types: state.serverTypes.map((t) => ({ id: t.id, name: t.name, prices: t.prices })) } }));

  app.notFound((c) => fail(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  return app;
}

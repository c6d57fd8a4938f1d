import { systemClock, type Clock } from '../../../domain/clock.ts';
import { Chaos, TokenBucket, type ChaosOptions } from '../../fake/chaos.ts';
import type { HAction, HFirewall, HServer, HServerType, HSshKey } from '../api.ts';

/** A scripted failure: the next `times` requests matching method and path prefix get this error. */
export interface InjectedError {
  method: string;
  pathPrefix: string;
  status: number;
  code: string;
  message?: string;
  times: number;
  /** Apply the request, then answer with the error anyway: a response lost on the way back. */
  afterApply?: boolean;
}

/** Faults the fake can be told to show. */
export interface FakeFaults {
  /** Server types that answer `resource_unavailable` (no capacity). */
  capacityTypes: Set<string>;
  /** Server types that answer `resource_limit_exceeded` (quota). */
  quotaTypes: Set<string>;
  /** `type@location` pairs that answer invalid_input "unsupported location for server type". */
  unsupported: Set<string>;
  /** Servers get no IPv4 address (their create action still finishes). */
  slowIp: boolean;
  /** The next create_server actions end in error with these codes (one per create, in order). */
  createActionErrors: string[];
  errors: InjectedError[];
}

export interface FakeHetznerOptions {
  /** The fake's time (share the provider's ManualClock in tests). */
  clock?: Clock | undefined;
  /** How long create_server runs; the server is `initializing` and `locked` meanwhile (default 3 s). */
  createActionMs?: number | undefined;
  /** How long a deleted server's firewalls stay attached, answering resource_in_use (default 2 s). */
  detachMs?: number | undefined;
  /** Requests per hour (RateLimit-Limit), refilled evenly (default 3600, Hetzner's default). */
  rateLimit?: number | undefined;
  /** Seeded random faults on top of the realistic behaviour (see fake/chaos.ts). */
  chaos?: ChaosOptions | undefined;
}

export const DEFAULT_SERVER_TYPES: HServerType[] = [
  ['cx53', 16, 32, 320, '0.0280'],
  ['cpx62', 16, 32, 640, '0.0611'],
  ['ccx33', 8, 32, 240, '0.0846'],
  ['ccx43', 16, 64, 360, '0.1693'],
  ['ccx53', 32, 128, 600, '0.3385'],
  ['ccx63', 48, 192, 960, '0.5078'],
].map(([name, cores, memory, disk, gross], i) => ({
  id: 100 + i,
  name: name as string,
  cores: cores as number,
  memory: memory as number,
  disk: disk as number,
  prices: ['fsn1', 'nbg1', 'hel1'].map((location) => ({
    location,
    price_hourly: { net: (Number(gross) / 1.19).toFixed(4), gross: gross as string },
  })),
}));

/** Locations as the API describes them (schema.Location). */
export const LOCATIONS = [
  { id: 1, name: 'fsn1', description: 'Falkenstein DC Park 1', country: 'DE', city: 'Falkenstein', latitude: 50.47612, longitude: 12.370071, network_zone: 'eu-central' },
  { id: 2, name: 'nbg1', description: 'Nuremberg DC Park 1', country: 'DE', city: 'Nuremberg', latitude: 49.452102, longitude: 11.076665, network_zone: 'eu-central' },
  { id: 3, name: 'hel1', description: 'Helsinki DC Park 1', country: 'FI', city: 'Helsinki', latitude: 60.169855, longitude: 24.938379, network_zone: 'eu-central' },
  { id: 4, name: 'ash', description: 'Ashburn, VA', country: 'US', city: 'Ashburn, VA', latitude: 39.045821, longitude: -77.487073, network_zone: 'us-east' },
];

/** An action as the fake keeps it: it ends at `doneAt` with `outcome`; its status is computed from the clock. */
interface FakeAction {
  id: number;
  command: string;
  startedAt: number;
  doneAt: number;
  outcome: 'success' | { code: string; message: string };
  resources: { id: number; type: string }[];
}

/** A server plus what only the fake knows: which action created it and when its firewalls finish detaching. */
export interface FakeServer {
  server: HServer;
  createActionId: number | undefined;
}

/** The whole fake account: servers, keys, firewalls, actions, plus the faults to show and a request log. */
export class FakeHetznerState {
  readonly servers = new Map<number, HServer>();
  readonly sshKeys = new Map<number, HSshKey>();
  readonly firewalls = new Map<number, HFirewall>();
  readonly serverTypes: HServerType[] = structuredClone(DEFAULT_SERVER_TYPES);
  readonly locations = LOCATIONS.map((l) => l.name);
  readonly faults: FakeFaults = { capacityTypes: new Set(), quotaTypes: new Set(), unsupported: new Set(), slowIp: false, createActionErrors: [], errors: [] };
  readonly requests: { method: string; path: string; body?: unknown; at: number; status?: number; code?: string | undefined }[] = [];
  /** Every answer's JSON body, in order (the conformance test checks them against the published schema). */
  readonly responses: { method: string; route: string; status: number; body: unknown }[] = [];
  readonly clock: Clock;
  readonly chaos: Chaos | undefined;
  createActionMs: number;
  detachMs: number;
  readonly #actions = new Map<number, FakeAction>();
  /** Server id -> the action that created it. */
  readonly #createdBy = new Map<number, number>();
  /** Firewall id -> server id -> when the detach after that server's deletion finishes. */
  readonly #detaching = new Map<number, Map<number, number>>();
  #bucket: TokenBucket;
  #nextId = 1000;
  #nextIp = 10;

  constructor(options: FakeHetznerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.createActionMs = options.createActionMs ?? 3_000;
    this.detachMs = options.detachMs ?? 2_000;
    this.chaos = options.chaos ? new Chaos(options.chaos) : undefined;
    this.#bucket = this.#newBucket(options.rateLimit ?? 3600);
  }

  #newBucket(perHour: number): TokenBucket {
    return new TokenBucket(perHour, perHour / 3600, this.clock.now());
  }

  /** The fake's idea of the time, for `created` and action timestamps. */
  now(): Date {
    return new Date(this.clock.now());
  }

  id(): number {
    return this.#nextId++;
  }

  ip(): string {
    return `203.0.113.${this.#nextIp++ % 250}`;
  }

  /** Makes the hourly request budget small (or restores it), starting full. */
  setRateLimit(perHour: number): void {
    this.#bucket = this.#newBucket(perHour);
  }

  /** Takes one request from the budget; the headers every answer carries either way. */
  meter(): { allowed: boolean; headers: Record<string, string> } {
    const now = this.clock.now();
    const allowed = this.#bucket.take(now);
    return {
      allowed,
      headers: {
        'RateLimit-Limit': String(this.#bucket.size),
        'RateLimit-Remaining': String(this.#bucket.remaining(now)),
        'RateLimit-Reset': String(Math.ceil(this.#bucket.fullAt(now) / 1000)),
      },
    };
  }

  /** Starts an action that ends after `ms` with `outcome`. */
  startAction(command: string, ms: number, resources: { id: number; type: string }[], outcome: FakeAction['outcome'] = 'success'): HAction {
    const now = this.clock.now();
    const action: FakeAction = { id: this.id(), command, startedAt: now, doneAt: now + ms, outcome, resources };
    this.#actions.set(action.id, action);
    return this.action(action.id)!;
  }

  /** An action as the API shows it now (schema.Action). */
  action(id: number): (HAction & Record<string, unknown>) | undefined {
    const a = this.#actions.get(id);
    if (!a) return undefined;
    const now = this.clock.now();
    const done = now >= a.doneAt;
    const failed = done && a.outcome !== 'success' ? a.outcome : null;
    return {
      id: a.id,
      command: a.command,
      status: !done ? 'running' : failed ? 'error' : 'success',
      progress: done ? 100 : Math.min(99, Math.floor(((now - a.startedAt) / Math.max(1, a.doneAt - a.startedAt)) * 100)),
      started: new Date(a.startedAt).toISOString(),
      finished: done ? new Date(a.doneAt).toISOString() : null,
      error: failed,
      resources: a.resources,
    };
  }

  /** A new server, created by a create_server action that runs for `ms` (Infinity: never finishes). */
  createServer(server: HServer, ms: number, outcome: FakeAction['outcome'] = 'success'): HAction {
    this.servers.set(server.id, server);
    const action = this.startAction('create_server', ms, [{ id: server.id, type: 'server' }], outcome);
    this.#createdBy.set(server.id, action.id);
    return action;
  }

  /** Every action that names the server, oldest first (GET /servers/:id/actions). */
  actionsOf(serverId: number): HAction[] {
    return [...this.#actions.values()].filter((a) => a.resources.some((r) => r.type === 'server' && r.id === serverId)).map((a) => this.action(a.id)!);
  }

  /** True while an action (its create) is still running on the server. */
  locked(serverId: number): boolean {
    const actionId = this.#createdBy.get(serverId);
    return actionId !== undefined && this.action(actionId)?.status === 'running';
  }

  /** A server type as the API shows it (schema.ServerType), priced per location. */
  serverTypeView(type: HServerType): Record<string, unknown> {
    const dedicated = type.name.startsWith('ccx');
    return {
      id: type.id,
      name: type.name,
      description: type.name.toUpperCase(),
      category: dedicated ? 'dedicated_general_purpose' : 'shared_general_purpose',
      cores: type.cores,
      memory: type.memory,
      disk: type.disk,
      storage_type: 'local',
      cpu_type: dedicated ? 'dedicated' : 'shared',
      architecture: 'x86',
      included_traffic: 0,
      prices: type.prices.map((p) => ({
        location: p.location,
        price_hourly: p.price_hourly,
        price_monthly: { net: (Number(p.price_hourly.net) * 730).toFixed(4), gross: (Number(p.price_hourly.gross) * 730).toFixed(4) },
        included_traffic: 21990232555520,
        price_per_tb_traffic: { net: '1.0000', gross: '1.1900' },
      })),
      deprecated: false,
      deprecation: null,
      locations: LOCATIONS.filter((l) => type.prices.some((p) => p.location === l.name)).map((l) => ({ id: l.id, name: l.name, recommended: l.name === 'fsn1', available: true, deprecation: null })),
    };
  }

  /** The server as the API shows it now: `initializing` and locked while its create runs, `off` when that failed. */
  serverView(server: HServer): Record<string, unknown> {
    const actionId = this.#createdBy.get(server.id);
    const action = actionId === undefined ? undefined : this.action(actionId);
    const status = action?.status === 'running' ? 'initializing' : action?.status === 'error' ? 'off' : server.status;
    const type = this.serverTypes.find((t) => t.name === server.server_type.name);
    const location = LOCATIONS.find((l) => l.name === server.location?.name) ?? LOCATIONS[0]!;
    return {
      id: server.id,
      name: server.name,
      status,
      created: server.created,
      public_net: {
        ipv4: server.public_net.ipv4 ? { id: server.id + 500_000, ip: server.public_net.ipv4.ip, blocked: false, dns_ptr: `static.${server.public_net.ipv4.ip.split('.').reverse().join('.')}.clients.your-server.de` } : null,
        ipv6: null,
        floating_ips: [],
        firewalls: server.public_net.firewalls ?? [],
      },
      private_net: [],
      server_type: type ? this.serverTypeView(type) : { id: 0, name: server.server_type.name },
      location,
      image: {
        id: 161547269, status: 'available', type: 'system', name: 'ubuntu-24.04', description: 'Ubuntu 24.04', image_size: null, disk_size: 5,
        created: '2024-04-25T00:00:00+00:00', created_from: null, bound_to: null, os_flavor: 'ubuntu', os_version: '24.04', architecture: 'x86',
        rapid_deploy: true, protection: { delete: false }, deprecated: null, deleted: null, labels: {},
      },
      iso: null,
      rescue_enabled: false,
      locked: action?.status === 'running',
      backup_window: null,
      outgoing_traffic: 0,
      ingoing_traffic: 0,
      included_traffic: 21990232555520,
      protection: { delete: false, rebuild: false },
      labels: server.labels,
      volumes: [],
      load_balancers: [],
      primary_disk_size: type?.disk ?? 0,
      placement_group: null,
    };
  }

  /** Removes a server; its firewalls stay attached for `detachMs` (deleting them meanwhile answers resource_in_use). */
  deleteServer(id: number): void {
    this.servers.delete(id);
    this.#createdBy.delete(id);
    const until = this.clock.now() + this.detachMs;
    for (const fw of this.firewalls.values()) {
      if (!fw.applied_to.some((a) => a.server?.id === id)) continue;
      const map = this.#detaching.get(fw.id) ?? new Map<number, number>();
      map.set(id, until);
      this.#detaching.set(fw.id, map);
    }
  }

  /** A firewall's applied_to, with finished detaches removed. */
  appliedTo(fw: HFirewall): HFirewall['applied_to'] {
    const now = this.clock.now();
    const pending = this.#detaching.get(fw.id);
    fw.applied_to = fw.applied_to.filter((a) => {
      const id = a.server?.id;
      if (id === undefined) return true;
      if (this.servers.has(id)) return true;
      const until = pending?.get(id);
      if (until !== undefined && now < until) return true;
      pending?.delete(id);
      return false;
    });
    return fw.applied_to;
  }

  /** Schedules an error for the next `times` matching requests. */
  failNext(error: Omit<InjectedError, 'times'> & { times?: number }): void {
    this.faults.errors.push({ times: 1, ...error });
  }

  /** Puts a server straight into the account (someone else's machine, a look-alike, a pre-existing orphan). */
  addServer(options: { name: string; labels?: Record<string, string>; type?: string; created?: string }): HServer {
    const server: HServer = {
      id: this.id(),
      name: options.name,
      status: 'running',
      created: options.created ?? new Date(Date.UTC(2026, 0, 1)).toISOString(),
      labels: { ...(options.labels ?? {}) },
      server_type: { name: options.type ?? 'cx53' },
      location: { name: 'fsn1' },
      public_net: { ipv4: { ip: this.ip() }, firewalls: [] },
    };
    this.servers.set(server.id, server);
    return server;
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }
}

import { systemClock } from '../../../domain/clock.ts';
import type { HAction, HFirewall, HServer, HServerType, HSshKey } from '../api.ts';

/** A scripted failure: the next `times` requests matching method and path prefix get this error. */
export interface InjectedError {
  method: string;
  pathPrefix: string;
  status: number;
  code: string;
  message?: string;
  times: number;
}

/** Faults the fake can be told to show. */
export interface FakeFaults {
  /** Server types that answer `resource_unavailable` (no capacity). */
  capacityTypes: Set<string>;
  /** Server types that answer `resource_limit_exceeded` (quota). */
  quotaTypes: Set<string>;
  /** Create actions stay `running` and servers get no IPv4 address. */
  slowIp: boolean;
  errors: InjectedError[];
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

/** The whole fake account: servers, keys, firewalls, actions, plus the faults to show and a request log. */
export class FakeHetznerState {
  readonly servers = new Map<number, HServer>();
  readonly sshKeys = new Map<number, HSshKey>();
  readonly firewalls = new Map<number, HFirewall>();
  readonly actions = new Map<number, HAction>();
  readonly serverTypes: HServerType[] = structuredClone(DEFAULT_SERVER_TYPES);
  readonly locations = ['fsn1', 'nbg1', 'hel1', 'ash'];
  readonly faults: FakeFaults = { capacityTypes: new Set(), quotaTypes: new Set(), slowIp: false, errors: [] };
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  /** The fake's own idea of the time, for `created` fields; tests may replace it. */
  now: () => Date = () => new Date(systemClock.now());
  #nextId = 1000;
  #nextIp = 10;

  id(): number {
    return this.#nextId++;
  }

  ip(): string {
    return `203.0.113.${this.#nextIp++ % 250}`;
  }

  action(command: string, status: HAction['status'] = 'success'): HAction {
    const action: HAction = { id: this.id(), command, status, progress: status === 'success' ? 100 : 0, error: null };
    this.actions.set(action.id, action);
    return action;
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
      datacenter: { name: 'fsn1-dc14', location: { name: 'fsn1' } },
      public_net: { ipv4: { ip: this.ip() }, firewalls: [] },
    };
    this.servers.set(server.id, server);
    return server;
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }
}

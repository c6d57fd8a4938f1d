import { randomBytes, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { Chaos, type ChaosOptions } from '../../providers/fake/chaos.ts';

/** A Cloudflare Tunnel as the API shows it (`cfd_tunnel`). */
export interface CfTunnel {
  id: string;
  account_tag: string;
  name: string;
  created_at: string;
  deleted_at: string | null;
  connections: { id: string; colo_name: string; opened_at: string }[];
  conns_active_at: string | null;
  conns_inactive_at: string | null;
  tun_type: 'cfd_tunnel';
  metadata: Record<string, unknown>;
  status: 'inactive' | 'healthy' | 'down';
  remote_config: boolean;
  config_src: 'cloudflare' | 'local';
}

export interface CfDnsRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxiable: boolean;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
}

export interface CfAccessPolicy {
  id: string;
  name: string;
  decision: 'allow' | 'deny' | 'non_identity' | 'bypass';
  include: unknown[];
  exclude: unknown[];
  require: unknown[];
  precedence: number;
  created_at: string;
  updated_at: string;
}

export interface CfAccessApp {
  id: string;
  uid: string;
  aud: string;
  name: string;
  domain: string;
  type: string;
  session_duration: string;
  app_launcher_visible: boolean;
  created_at: string;
  updated_at: string;
  policies: CfAccessPolicy[];
}

/** A scripted answer: the next `times` requests matching method and path prefix get this error. */
export interface CfInjectedError {
  method: string;
  pathPrefix: string;
  status: number;
  code: number;
  message?: string | undefined;
  times: number;
  /** Apply the request, then answer the error (a lost response). */
  afterApply?: boolean | undefined;
  /** For 429: the Retry-After header, in seconds. */
  retryAfterSeconds?: number | undefined;
}

export interface FakeCloudflareOptions {
  clock?: Clock | undefined;
  accountId?: string | undefined;
  zone?: { id: string; name: string } | undefined;
  chaos?: ChaosOptions | undefined;
}

/** The fake account's objects and the knobs tests turn. Nothing here is reachable except through the HTTP app. */
export class FakeCloudflareState {
  readonly accountId: string;
  readonly zone: { id: string; name: string };
  readonly tunnels = new Map<string, CfTunnel>();
  /** Tunnel id -> its secret (only ever inside the tunnel token). */
  readonly secrets = new Map<string, string>();
  /** Tunnel id -> the remote-managed ingress rules. */
  readonly ingress = new Map<string, unknown[]>();
  readonly dnsRecords = new Map<string, CfDnsRecord>();
  readonly accessApps = new Map<string, CfAccessApp>();
  readonly errors: CfInjectedError[] = [];
  readonly requests: { method: string; path: string; status?: number; body?: string | undefined; authorization?: string | undefined }[] = [];
  readonly clock: Clock;
  readonly chaos: Chaos | undefined;

  constructor(options: FakeCloudflareOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.accountId = options.accountId ?? randomBytes(16).toString('hex');
    this.zone = options.zone ?? { id: randomBytes(16).toString('hex'), name: 'boxes.example.com' };
    this.chaos = options.chaos ? new Chaos(options.chaos) : undefined;
  }

  iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  newId(): string {
    return randomUUID();
  }

  /** The tunnel token: base64 of `{"a": account tag, "t": tunnel id, "s": secret}`, as cloudflared reads it. */
  tokenFor(tunnel: CfTunnel): string {
    const secret = this.secrets.get(tunnel.id)!;
    return Buffer.from(JSON.stringify({ a: this.accountId, t: tunnel.id, s: secret })).toString('base64');
  }

  /** A connector comes up for a tunnel (what `cloudflared tunnel run --token` does): the tunnel is healthy. */
  connect(tunnelId: string): void {
    const t = this.tunnels.get(tunnelId);
    if (!t || t.deleted_at) throw new Error(`no live tunnel ${tunnelId}`);
    t.connections.push({ id: this.newId(), colo_name: 'fra06', opened_at: this.iso() });
    t.status = 'healthy';
    t.conns_active_at = this.iso();
  }

  /** Live (not deleted) objects, for leak assertions. */
  leftovers(): string[] {
    return [
      ...[...this.tunnels.values()].filter((t) => !t.deleted_at).map((t) => `tunnel ${t.name}`),
      ...[...this.dnsRecords.values()].map((r) => `dns ${r.type} ${r.name}`),
      ...[...this.accessApps.values()].map((a) => `access app ${a.name}`),
    ];
  }
}

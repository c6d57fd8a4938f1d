import type { CreateOptions, DanglingSweepOptions, DeleteResult, Machine, MachineSpec, MachineStatus, Provider, ProviderCapabilities, ProviderEvent } from '../provider.ts';
import { CLOUD_ADMIN, CLOUD_CAPABILITIES, certificatesOnly, cloudLeaseSudo, cloudLeaseUser, cloudLogin, cloudUserCa } from '../cloud-capabilities.ts';
import type { Clock } from '../../domain/clock.ts';
import { systemClock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { LABEL, type Labels } from '../../domain/labels.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { chooseTypes, type ClassOverrides } from '../classes.ts';
import { renderUserData } from '../../bootstrap/user-data.ts';
import type { HAction, HServer } from './api.ts';
import { classify, HetznerApiError, type HetznerClient } from './client.ts';
import { deleteLeaseKey, ensureLeaseKey, ensureSharedKey } from './ssh-keys.ts';
import { deleteLeaseFirewall, ensureLeaseFirewall } from './firewall.ts';
import { DEFAULT_EUR_TO_USD, fetchHourlyUsd } from './pricing.ts';
import { sweepDanglingLeaseResources, type DanglingResult } from './dangling.ts';

export const SSH_USER = CLOUD_ADMIN.user;
export const WORK_ROOT = CLOUD_ADMIN.workRoot;

export type { ProviderEvent };

export interface HetznerProviderOptions {
  client: HetznerClient;
  /** Time and waiting (polls); defaults to the client's clock, so one ManualClock drives both in tests. */
  clock?: Clock | undefined;
  /** Locations to try in order for each type. */
  locations?: string[] | undefined;
  image?: string | undefined;
  classes?: ClassOverrides | undefined;
  eurToUsd?: number | undefined;
  /** SSH ports: primary first, then fallbacks. */
  ports?: number[] | undefined;
  /** How long to wait for the create action and an IPv4 address before giving the server up. */
  readyTimeoutMs?: number | undefined;
  pollMs?: number | undefined;
  onEvent?: ((event: ProviderEvent) => void) | undefined;
}

const STATUS: Record<HServer['status'], MachineStatus> = {
  initializing: 'provisioning',
  starting: 'provisioning',
  running: 'running',
  stopping: 'stopped',
  off: 'stopped',
  deleting: 'deleting',
  migrating: 'running',
  rebuilding: 'provisioning',
  unknown: 'unknown',
};

const LABEL_PART = /^[A-Za-z0-9._-]{0,63}$/;

/** Create-action error codes that mean "not here, right now": the server is deleted and the next candidate tried. */
const PLACEMENT_ACTION_ERRORS = new Set(['placement_error', 'resource_unavailable']);

/** Hetzner Cloud servers as Crabbox machines: one SSH key, one firewall and one server per lease. */
export class HetznerProvider implements Provider {
  readonly name = 'hetzner';
  readonly capabilities: ProviderCapabilities = CLOUD_CAPABILITIES;
  readonly #client: HetznerClient;
  readonly #clock: Clock;
  readonly #locations: string[];
  readonly #image: string;
  readonly #classes: ClassOverrides | undefined;
  readonly #eurToUsd: number;
  readonly #ports: number[];
  readonly #readyTimeoutMs: number;
  readonly #pollMs: number;
  readonly #onEvent: (event: ProviderEvent) => void;

  constructor(options: HetznerProviderOptions) {
    this.#client = options.client;
    this.#clock = options.clock ?? options.client.clock ?? systemClock;
    this.#locations = options.locations?.length ? options.locations : ['fsn1', 'nbg1', 'hel1'];
    this.#image = options.image ?? 'ubuntu-24.04';
    this.#classes = options.classes;
    this.#eurToUsd = options.eurToUsd ?? DEFAULT_EUR_TO_USD;
    this.#ports = options.ports?.length ? options.ports : [2222, 22];
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 5 * 60_000;
    this.#pollMs = options.pollMs ?? 2_000;
    this.#onEvent = options.onEvent ?? (() => undefined);
  }

  async create(spec: MachineSpec, options: CreateOptions = {}): Promise<Machine> {
    const existing = (await this.#listServers({ [LABEL.lease]: spec.leaseId }))[0];
    if (existing) {
      await options.onProviderId?.(String(existing.id));
      return this.#toMachine(await this.#waitReady(existing, await this.#createActionOf(existing.id), spec), spec);
    }
    const { types } = chooseTypes({ provider: this.name, class: spec.class, type: spec.type, classes: this.#classes });
    const installation = spec.labels[LABEL.installation];
    // Rendered first: bad input fails before anything billable or visible is made.
    const userCa = cloudUserCa(spec);
    const userData = renderUserData({ sshPublicKey: spec.sshPublicKey, hostKey: spec.hostKey, ports: this.#ports, user: SSH_USER, workRoot: WORK_ROOT, leaseUser: cloudLeaseUser(spec), leaseSudo: cloudLeaseSudo(spec), tunnelToken: spec.tunnel?.token, userCa });
    // A key of this name with other material is someone else's: refused, and never deleted by this lease.
    // A warm pool machine carries the installation admin key, one key object for the whole pool. A box that trusts
    // the user CA gets no key object at all (Hetzner then mails a root password, which the box's sshd never takes).
    const key = spec.shared
      ? await ensureSharedKey(this.#client, { publicKey: spec.sshPublicKey, labels: spec.labels })
      : certificatesOnly(spec)
        ? undefined
        : await ensureLeaseKey(this.#client, { leaseId: spec.leaseId, publicKey: spec.sshPublicKey, labels: spec.labels });
    let firewall;
    try {
      // Tunnel mode: the firewall has no inbound rule at all (the box only dials out to Cloudflare).
      firewall = await ensureLeaseFirewall(this.#client, { leaseId: spec.leaseId, ports: spec.tunnel ? [] : this.#ports, cidrs: spec.allowedCidrs, installation });
    } catch (error) {
      await this.#dropLeaseResources(spec.leaseId);
      throw error;
    }
    const body = (type: string, location: string) => ({
      name: `crabbox-${spec.slug}-${spec.leaseId.slice(4)}`,
      server_type: type,
      image: this.#image,
      location,
      labels: spec.labels,
      ssh_keys: key ? [key.id] : [],
      firewalls: [{ firewall: firewall.id }],
      user_data: userData,
      start_after_create: true,
      public_net: { enable_ipv4: true, enable_ipv6: false },
    });
    const rejections: string[] = [];
    try {
      for (const type of types) {
        for (const location of this.#locations) {
          const outcome = await this.#launch(spec, type, location, body(type, location), options);
          if ('machine' in outcome) return outcome.machine;
          rejections.push(`${type}@${location}: ${outcome.rejected.message}`);
          this.#onEvent({
            type: 'provider.fallback',
            message: `hetzner ${outcome.rejected.kind} for ${type} in ${location}; trying the next candidate`,
            data: { leaseId: spec.leaseId, type, location, code: outcome.rejected.code, kind: outcome.rejected.kind },
          });
        }
      }
    } catch (error) {
      await this.#dropLeaseResources(spec.leaseId);
      throw error;
    }
    await this.#dropLeaseResources(spec.leaseId);
    throw new CrabboxError('provider_capacity', `hetzner: no capacity for ${types.join(', ')} in ${this.#locations.join(', ')}`, {
      hint: 'try another --class or --type, or set hetzner.locations',
      detail: { rejections },
    });
  }

  /**
   * One candidate: creates the server and waits for it. Returns a rejection when Hetzner says this type/location
   * cannot be had (capacity, quota, unsupported, or a create action that failed on placement, after deleting that
   * server); throws on anything else, deleting the server if one was made.
   */
  async #launch(spec: MachineSpec, type: string, location: string, body: Record<string, unknown>, options: CreateOptions): Promise<{ machine: Machine } | { rejected: { kind: string; code: string; message: string } }> {
    let created: { server: HServer; action: HAction | undefined };
    try {
      created = await this.#postServer(spec.leaseId, body);
    } catch (error) {
      const kind = classify(error);
      if (kind !== 'capacity' && kind !== 'quota' && kind !== 'unsupported') throw error;
      return { rejected: { kind, code: (error as HetznerApiError).code, message: (error as Error).message } };
    }
    const providerId = String(created.server.id);
    try {
      await options.onProviderId?.(providerId);
    } catch (error) {
      // The caller could not record the id: nothing would point at this server, so it goes now (create() drops the
      // lease's key and firewall when this throws).
      await this.#deleteServer(providerId).catch(() => undefined);
      throw error;
    }
    try {
      return { machine: this.#toMachine(await this.#waitReady(created.server, created.action, spec), spec) };
    } catch (error) {
      // Never leave a billable server behind: delete it now; if even that fails, its id is already recorded for the sweep.
      const outcome = await this.#deleteServer(providerId).catch((deleteError: unknown) => `delete failed: ${(deleteError as Error).message}`);
      const deleted = outcome === 'deleted' || outcome === 'already-gone';
      this.#onEvent({ type: 'provider.error', message: `hetzner server ${providerId} did not become ready; ${deleted ? 'deleted it' : outcome}`, data: { leaseId: spec.leaseId, providerId } });
      const placement = error instanceof CrabboxError && error.detail?.actionError !== undefined && PLACEMENT_ACTION_ERRORS.has(String(error.detail.actionError));
      // Only when this call deleted the failed server: one someone else deleted meanwhile (a release during the
      // create) must not be replaced by another.
      if (placement && outcome === 'deleted') return { rejected: { kind: 'placement', code: String(error.detail?.actionError), message: error.message } };
      throw error instanceof CrabboxError ? error : new CrabboxError('provider_error', (error as Error).message, { detail: { providerId } });
    }
  }

  /**
   * POST /servers, retried safely: before every retry the server is looked up by its lease label, because an answer
   * lost to a timeout, a 5xx or a 429 may belong to a create that happened. A `uniqueness_error` (the name is taken)
   * adopts our own server the same way.
   */
  async #postServer(leaseId: string, body: Record<string, unknown>): Promise<{ server: HServer; action: HAction | undefined }> {
    const started = this.#clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#client.request<{ server: HServer; action: HAction }>('POST', '/servers', { noRetry: true, body });
      } catch (error) {
        const kind = classify(error);
        const code = (error as HetznerApiError).code;
        const ambiguous = kind === 'retryable' || kind === 'rate-limited' || kind === 'locked' || code === 'uniqueness_error';
        if (!ambiguous) throw error;
        const adopted = (await this.#listServers({ [LABEL.lease]: leaseId }))[0];
        if (adopted) return { server: adopted, action: await this.#createActionOf(adopted.id) };
        if (code === 'uniqueness_error') throw error; // the name belongs to a server that is not this lease's
        const waited = this.#clock.now() - started;
        if ((kind === 'retryable' && attempt >= 4) || waited > 15 * 60_000) throw error;
        await this.#clock.sleep(kind === 'rate-limited' ? ((error as HetznerApiError).retryAfterMs ?? 5_000) : Math.min(1000 * 2 ** (attempt - 1), 8_000));
      }
    }
  }

  /** The create_server action of a server we adopted (its create answer was lost), so its outcome is known too. */
  async #createActionOf(serverId: number): Promise<HAction | undefined> {
    const actions = await this.#client.listAll<HAction>(`/servers/${serverId}/actions`, 'actions').catch(() => []);
    return actions.find((a) => a.command === 'create_server');
  }

  /**
   * Waits for the create action to finish (or, for an adopted server whose action is unknown, for it to run) and an
   * IPv4 address to appear, within the ready deadline.
   */
  async #waitReady(server: HServer, action: HAction | undefined, spec: MachineSpec): Promise<HServer> {
    const deadline = this.#clock.now() + this.#readyTimeoutMs;
    let current = server;
    let pending = action;
    for (;;) {
      if (pending && pending.status === 'running') {
        pending = (await this.#client.request<{ action: HAction }>('GET', `/actions/${pending.id}`)).action;
      }
      if (pending?.status === 'error') {
        throw new CrabboxError('provider_error', `hetzner create of server ${server.id} failed: ${pending.error?.code ?? 'error'}: ${pending.error?.message ?? 'action error'}`, {
          detail: { providerId: String(server.id), actionError: pending.error?.code },
        });
      }
      const actionDone = pending ? pending.status === 'success' : current.status === 'running';
      if (actionDone && current.public_net.ipv4?.ip) return current;
      if (!pending || pending.status === 'success') {
        const fresh = await this.#getServer(String(server.id));
        if (!fresh) throw new CrabboxError('provider_error', `hetzner server ${server.id} disappeared while starting`, { detail: { providerId: String(server.id) } });
        current = fresh;
        if ((pending || current.status === 'running') && current.public_net.ipv4?.ip) return current;
      }
      if (this.#clock.now() >= deadline) {
        throw new CrabboxError('timeout', `hetzner server ${server.id} for ${spec.leaseId} got no IPv4 address (or did not finish starting) within ${Math.round(this.#readyTimeoutMs / 1000)}s`, {
          hint: 'the server was deleted; try again or pick another location',
          detail: { providerId: String(server.id) },
        });
      }
      await this.#clock.sleep(this.#pollMs);
    }
  }

  async get(providerId: string): Promise<Machine | undefined> {
    const server = await this.#getServer(providerId);
    return server ? this.#toMachine(server) : undefined;
  }

  async list(selector: Labels): Promise<Machine[]> {
    return (await this.#listServers(selector)).map((s) => this.#toMachine(s));
  }

  async setLabels(providerId: string, labels: Labels): Promise<void> {
    if (!/^\d{1,19}$/.test(providerId)) throw new CrabboxError('not_found', `hetzner server ${JSON.stringify(providerId)} not found`);
    await this.#client.request('PUT', `/servers/${providerId}`, { body: { labels } });
  }

  async delete(providerId: string): Promise<DeleteResult> {
    if (!/^\d{1,19}$/.test(providerId)) return 'already-gone';
    const server = await this.#getServer(providerId);
    if (!server) return 'already-gone';
    const result = await this.#deleteServer(providerId);
    const leaseId = server.labels[LABEL.lease];
    if (leaseId && isLeaseId(leaseId)) await this.#dropLeaseResources(leaseId);
    this.#onEvent({ type: 'machine.deleted', message: `hetzner server ${providerId} deleted`, data: { providerId, leaseId } });
    return result;
  }

  /** DELETE /servers/:id only (the lease's key and firewall stay, e.g. for the next candidate of the same create). */
  async #deleteServer(providerId: string): Promise<DeleteResult> {
    // Set when an earlier attempt may have been applied with its answer lost (a 5xx or a dropped connection; a 429 or
    // `locked` was certainly not applied).
    let maybeApplied = false;
    try {
      // A server whose create is still running answers `locked`: wait as long as a create may take, so a release
      // during create deletes the server instead of leaving it to the sweep.
      await this.#client.request('DELETE', `/servers/${providerId}`, { lockedBudgetMs: this.#readyTimeoutMs + 60_000, onRetry: (e) => void (maybeApplied ||= classify(e) === 'retryable') });
      return 'deleted';
    } catch (error) {
      if (classify(error) !== 'not-found') throw error;
      // Gone after our own DELETE may have gone through: we deleted it; otherwise someone else did.
      return maybeApplied ? 'deleted' : 'already-gone';
    }
  }

  async hourlyPrice(type?: string): Promise<number | undefined> {
    const chosen = type ?? chooseTypes({ provider: this.name, classes: this.#classes }).types[0]!;
    return fetchHourlyUsd(this.#client, { type: chosen, location: this.#locations[0], eurToUsd: this.#eurToUsd });
  }

  /** Deletes lease keys and firewalls left behind by interrupted deletes (see dangling.ts). */
  async sweepDangling(options: DanglingSweepOptions): Promise<DanglingResult> {
    return sweepDanglingLeaseResources(this.#client, { now: this.#clock.now(), installation: options.installation, minAgeMs: options.minAgeMs ?? 30 * 60_000 });
  }

  /** Deletes the lease's key and firewall; failures are reported, not thrown (the sweep retries them). */
  async #dropLeaseResources(leaseId: string): Promise<void> {
    for (const [what, drop] of [['ssh key', () => deleteLeaseKey(this.#client, leaseId)], ['firewall', () => deleteLeaseFirewall(this.#client, leaseId)]] as const) {
      try {
        await drop();
      } catch (error) {
        this.#onEvent({ type: 'provider.error', message: `hetzner: could not delete ${what} of ${leaseId}: ${(error as Error).message}`, data: { leaseId } });
      }
    }
  }

  async #getServer(providerId: string): Promise<HServer | undefined> {
    if (!/^\d{1,19}$/.test(providerId)) return undefined;
    try {
      return (await this.#client.request<{ server: HServer }>('GET', `/servers/${providerId}`)).server;
    } catch (error) {
      if (classify(error) === 'not-found') return undefined;
      throw error;
    }
  }

  async #listServers(selector: Labels): Promise<HServer[]> {
    return this.#client.listAll<HServer>('/servers', 'servers', { label_selector: labelSelector(selector) });
  }

  #toMachine(server: HServer, spec?: MachineSpec): Machine {
    return {
      provider: this.name,
      providerId: String(server.id),
      host: server.public_net.ipv4?.ip ?? '',
      ports: [...this.#ports],
      // Without the spec (get, list) the admin user: nothing logs in from those answers.
      ...(spec ? cloudLogin(spec) : { sshUser: SSH_USER, workRoot: WORK_ROOT }),
      hostKey: spec?.hostKey.publicKey.trim() ?? '',
      labels: { ...server.labels },
      status: STATUS[server.status] ?? 'unknown',
      type: server.server_type.name,
      region: server.location?.name,
      createdAt: Date.parse(server.created) || undefined,
    };
  }
}

/** `k=v,k2=v2` for Hetzner's label_selector; refuses anything that could change the selector's meaning. */
export function labelSelector(selector: Labels): string {
  return Object.entries(selector)
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,252}$/.test(k) || !LABEL_PART.test(v)) throw new CrabboxError('bad_request', `invalid label selector ${JSON.stringify(`${k}=${v}`).slice(0, 80)}`);
      return `${k}=${v}`;
    })
    .join(',');
}

export { HetznerApiError };

import type { CreateOptions, DeleteResult, Machine, MachineSpec, Provider, ProviderCapabilities } from '../provider.ts';
import type { Labels } from '../../domain/labels.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';

/** A failure to inject at a named step. `times` counts how many calls fail before calls succeed again. */
export interface Fault {
  step: 'create' | 'create-after-id' | 'delete' | 'list' | 'get' | 'setLabels';
  times?: number;
  error?: () => Error;
}

/**
 * A complete in-memory provider for tests of everything above the provider layer (coordinator, sweeper, CLI flows).
 * Machines "boot" instantly at 127.0.0.1; faults can be scripted per step.
 */
export class FakeProvider implements Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities = { labels: true, injectsHostKey: true, billable: true, local: false, danglingObjects: false };
  readonly machines = new Map<string, Machine>();
  /** Every spec `create` received, in order (tests read allowedCidrs, class, type from here). */
  readonly specs: MachineSpec[] = [];
  readonly calls: { op: string; id?: string }[] = [];
  #faults: Fault[] = [];
  #next = 1;
  #price: number;
  #clock: Pick<Clock, 'now'>;

  #history: boolean;

  /** `history: false` keeps no `specs` and `calls` (a long-running `coordinator serve --providers fake` must not grow). */
  constructor(options: { name?: string; hourlyPrice?: number; clock?: Pick<Clock, 'now'>; history?: boolean } = {}) {
    this.name = options.name ?? 'fake';
    this.#history = options.history ?? true;
    this.#price = options.hourlyPrice ?? 0.05;
    this.#clock = options.clock ?? systemClock;
  }

  #record(call: { op: string; id?: string }, spec?: MachineSpec): void {
    if (!this.#history) return;
    this.calls.push(call);
    if (spec) this.specs.push(structuredClone(spec));
  }

  /** Schedules a failure for the next `times` calls of a step. */
  fail(fault: Fault): this {
    this.#faults.push({ times: 1, ...fault });
    return this;
  }

  #maybeFail(step: Fault['step']): void {
    const fault = this.#faults.find((f) => f.step === step && (f.times ?? 1) > 0);
    if (!fault) return;
    fault.times = (fault.times ?? 1) - 1;
    throw fault.error?.() ?? new CrabboxError('provider_error', `fake provider: injected ${step} failure`);
  }

  async create(spec: MachineSpec, options: CreateOptions = {}): Promise<Machine> {
    this.#record({ op: 'create', id: spec.leaseId }, spec);
    this.#maybeFail('create');
    const existing = [...this.machines.values()].find((m) => m.labels['crabbox-lease'] === spec.leaseId);
    if (existing) return structuredClone(existing);
    const providerId = String(this.#next++);
    const machine: Machine = {
      provider: this.name,
      providerId,
      host: '127.0.0.1',
      ports: [2222, 22],
      sshUser: 'crabbox',
      workRoot: '/work/crabbox',
      hostKey: spec.hostKey.publicKey,
      labels: { ...spec.labels },
      status: 'running',
      type: spec.type ?? 'fake-small',
      createdAt: this.#clock.now(),
    };
    this.machines.set(providerId, machine);
    await options.onProviderId?.(providerId);
    this.#maybeFail('create-after-id');
    return structuredClone(machine);
  }

  async get(providerId: string): Promise<Machine | undefined> {
    this.#record({ op: 'get', id: providerId });
    this.#maybeFail('get');
    const m = this.machines.get(providerId);
    return m ? structuredClone(m) : undefined;
  }

  async list(selector: Labels): Promise<Machine[]> {
    this.#record({ op: 'list' });
    this.#maybeFail('list');
    return [...this.machines.values()].filter((m) => Object.entries(selector).every(([k, v]) => m.labels[k] === v)).map((m) => structuredClone(m));
  }

  async setLabels(providerId: string, labels: Labels): Promise<void> {
    this.#record({ op: 'setLabels', id: providerId });
    this.#maybeFail('setLabels');
    const m = this.machines.get(providerId);
    if (!m) throw new CrabboxError('not_found', `fake provider: machine ${providerId} not found`);
    m.labels = { ...labels };
  }

  async delete(providerId: string): Promise<DeleteResult> {
    this.#record({ op: 'delete', id: providerId });
    this.#maybeFail('delete');
    return this.machines.delete(providerId) ? 'deleted' : 'already-gone';
  }

  async hourlyPrice(): Promise<number | undefined> {
    return this.#price;
  }

  /** How many delete calls actually removed something, per provider id. */
  deletions(providerId: string): number {
    return this.calls.filter((c) => c.op === 'delete' && c.id === providerId).length;
  }
}

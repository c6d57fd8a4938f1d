// A test-only provider for the Worker: every call goes over loopback HTTP to a provider hosted by the Node test process
// (src/testing/provider-bridge.ts), so end-to-end tests can run real boxes (the `local` provider's sshd boxes) under
// a coordinator in workerd. Never part of the production Worker.
import type { Labels } from '../../domain/labels.ts';
import type { CreateOptions, DeleteResult, Machine, MachineSpec, Provider, ProviderCapabilities } from '../../providers/provider.ts';

export class BridgeProvider implements Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  readonly #url: string;

  constructor(options: { name: string; url: string; capabilities: ProviderCapabilities }) {
    this.name = options.name;
    this.#url = options.url;
    this.capabilities = options.capabilities;
  }

  async #call<T>(op: string, ...args: unknown[]): Promise<T> {
    const res = await fetch(`${this.#url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
    const body = (await res.json()) as { ok: boolean; value?: T; error?: string };
    if (!body.ok) throw new Error(body.error ?? `bridge ${op} failed`);
    return body.value as T;
  }

  async create(spec: MachineSpec, options: CreateOptions = {}): Promise<Machine> {
    const machine = await this.#call<Machine>('create', spec);
    await options.onProviderId?.(machine.providerId);
    return machine;
  }
  get = (providerId: string) => this.#call<Machine | undefined>('get', providerId);
  list = (selector: Labels) => this.#call<Machine[]>('list', selector);
  setLabels = (providerId: string, labels: Labels) => this.#call<void>('setLabels', providerId, labels);
  delete = (providerId: string) => this.#call<DeleteResult>('delete', providerId);
  hourlyPrice = (type?: string) => this.#call<number | undefined>('hourlyPrice', type);
}

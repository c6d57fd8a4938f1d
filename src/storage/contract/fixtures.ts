import { it } from 'node:test';
import type { FleetStore, MachineDetails, NewLease, NewMachine } from '../store.ts';

/** Makes a fresh, empty, migrated store; `reopen` (when given) opens the same data again, as after a restart. */
export interface StoreFactory {
  make(): Promise<{ store: FleetStore; reopen?: () => Promise<FleetStore>; cleanup?: () => Promise<void> | void }>;
}

export type ContractTest = (title: string, fn: (store: FleetStore, reopen?: () => Promise<FleetStore>) => Promise<void>) => void;

export const T0 = Date.UTC(2026, 0, 15, 12);
export const HOUR = 3_600_000;
let counter = 0;
const hex = (n: number): string => n.toString(16).padStart(12, '0');

/** A provisioning lease with sensible defaults. */
export function newLease(overrides: Partial<NewLease> = {}): NewLease {
  counter++;
  const id = `cbx_${hex(counter)}`;
  return {
    id, slug: `blue-crab-${counter.toString(16).padStart(4, '0').slice(-4)}`, owner: 'alice', org: 'acme', provider: 'fake', keep: false,
    ttlSeconds: 5400, idleTimeoutSeconds: 1800, createdAt: T0, expiresAt: T0 + 1800_000, idempotencyKey: `key-${id}`, hourlyPrice: 0.1,
    reservedCost: 0.15, ...overrides,
  };
}

/** A provisioning machine with sensible defaults. */
export function newMachine(overrides: Partial<NewMachine> = {}): NewMachine {
  counter++;
  return { id: `mch_${hex(counter)}`, provider: 'fake', class: 'standard', labels: { crabbox: 'true' }, createdAt: T0, ...overrides };
}

export const details = (providerId: string): MachineDetails => ({
  providerId, host: '127.0.0.1', ports: [2222, 22], adminUser: 'crabbox', workRoot: '/work/crabbox', hostKey: 'ssh-ed25519 AAAAhost', type: 'small', region: 'here',
});

/** A lease and the machine made for it, as the coordinator's cold path writes them. */
export async function leaseWithMachine(store: FleetStore, overrides: Partial<NewLease> = {}): Promise<{ leaseId: string; machineId: string }> {
  const machine = newMachine();
  const { lease } = await store.createLease(newLease({ ...overrides, machineId: machine.id }));
  await store.createMachine({ ...machine, leaseId: lease.id });
  return { leaseId: lease.id, machineId: machine.id };
}

/** `it` over a fresh store from the factory, closed (and cleaned up) afterwards. */
export function contractTest(factory: StoreFactory): ContractTest {
  return (title, fn) =>
    it(title, async () => {
      const { store, reopen, cleanup } = await factory.make();
      try {
        await fn(store, reopen);
      } finally {
        await store.close().catch(() => {});
        await cleanup?.();
      }
    });
}

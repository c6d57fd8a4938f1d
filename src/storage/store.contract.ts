import { eventContract } from './contract/events.contract.ts';
import type { StoreFactory } from './contract/fixtures.ts';
import { leaseContract } from './contract/leases.contract.ts';
import { loginContract } from './contract/logins.contract.ts';
import { machineContract } from './contract/machines.contract.ts';
import { runContract } from './contract/runs.contract.ts';
import { fleetContract } from './contract/store.contract.ts';
import { webSessionContract } from './contract/web-sessions.contract.ts';

export { leaseWithMachine, newLease, newMachine, type StoreFactory } from './contract/fixtures.ts';

/** The behaviour every FleetStore backend must show, port by port (src/storage/contract/). Call it from each backend's test file. */
export function runStoreContract(name: string, factory: StoreFactory): void {
  leaseContract(name, factory);
  machineContract(name, factory);
  runContract(name, factory);
  eventContract(name, factory);
  loginContract(name, factory);
  webSessionContract(name, factory);
  fleetContract(name, factory);
}

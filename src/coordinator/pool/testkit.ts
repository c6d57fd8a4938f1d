import { FakeMachineAccess } from '../../machine-access/fake.ts';
import { FakeProvider } from '../../providers/fake/fake-provider.ts';
import type { FleetStore } from '../../storage/store.ts';
import { harness, type Harness, type HarnessOptions } from '../testkit.ts';
import { poolConfig, type PoolConfig } from './config.ts';
import { reconcilePool } from './reconcile.ts';

export const ADMIN_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBvb2xhZG1pbmtleWZvcnRlc3RzMDEyMzQ1Njc4 crabbox-admin';

export interface PoolHarness extends Harness {
  access: FakeMachineAccess;
  pool: PoolConfig;
  /** Fills the pool (one reconcile pass) and returns the idle machine ids. */
  fill(): Promise<string[]>;
  maintainer(): Promise<string>;
}

/** The coordinator test harness with one warm pool `warm` on the fake provider and in-memory boxes (FakeMachineAccess). */
export async function poolHarness(options: { pool?: Partial<PoolConfig>; config?: HarnessOptions['config']; store?: FleetStore; provider?: FakeProvider } = {}): Promise<PoolHarness> {
  const pool = poolConfig({ name: 'warm', provider: 'fake', min: 2, max: 4, ...options.pool });
  const h = await harness({ config: { ...options.config, pools: [pool] }, store: options.store, provider: options.provider });
  const access = new FakeMachineAccess();
  h.deps.access = { fake: access };
  h.deps.adminPublicKey = ADMIN_PUBLIC_KEY;
  return {
    ...h,
    access,
    pool,
    async fill() {
      await reconcilePool(h.deps);
      return (await h.store.poolMachines(pool.name)).filter((m) => m.state === 'idle').map((m) => m.id);
    },
    maintainer: () => h.userToken('keeper'),
  };
}

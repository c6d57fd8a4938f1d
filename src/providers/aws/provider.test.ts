import { after } from 'node:test';
import assert from 'node:assert/strict';
import { runProviderContract, baseSpec } from '../provider.contract.ts';
import { chaosSeeds } from '../fake/chaos.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvbnRyYWN0Y29udHJhY3Rjb250cmFjdGNvbnRyYWN0 user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Rob3N0aG9zdGhvc3Rob3N0aG9zdGhvc3Rob3N0 root@box' } };

const setups: FakeAwsSetup[] = [];
after(async () => {
  for (const s of setups) await s.stop();
});

/** The fake's realistic defaults (propagation delays, request budgets), then seeded chaos on top of them. */
const modes = [{ title: 'aws (realistic fake EC2)', chaos: undefined }, ...chaosSeeds(process.env).map((seed) => ({ title: `aws (fake EC2, chaos seed ${seed})`, chaos: { seed } }))];

for (const mode of modes) {
  // Paging of two exercises NextToken on every list.
  runProviderContract(mode.title, async () => {
    const setup = await startFakeAws({ fake: { pageSize: 2, chaos: mode.chaos } });
    setups.push(setup);
    return {
      provider: setup.provider,
      spec: (leaseId) => ({ ...baseSpec(leaseId, keys), allowedCidrs: ['203.0.113.7/32'] }),
      // Nothing listens on a fake EC2 address: the instance the fake account holds must have the reported public IP.
      reachable: async (machine) => assert.equal(setup.fake.account.instances.get(machine.providerId)?.publicIp, machine.host),
      leftovers: () => setup.leftovers(),
      teardown: async () => {
        // A chaos run that injected nothing proved nothing.
        if (mode.chaos) assert.ok(setup.fake.chaos!.log.length > 0, `${mode.title}: no fault was injected`);
      },
    };
  });
}

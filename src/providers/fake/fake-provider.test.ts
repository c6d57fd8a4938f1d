import assert from 'node:assert/strict';
import { runProviderContract, baseSpec } from '../provider.contract.ts';
import { FakeProvider } from './fake-provider.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAfake user', hostKey: { privateKey: 'fake', publicKey: 'ssh-ed25519 AAAAhost' } };

runProviderContract('fake', async () => {
  const provider = new FakeProvider();
  return {
    provider,
    spec: (leaseId) => baseSpec(leaseId, keys),
    // The fake is its own cloud: nothing listens, so the check is that its record of the machine holds the address.
    reachable: async (machine) => assert.deepEqual([provider.machines.get(machine.providerId)?.host, provider.machines.get(machine.providerId)?.ports], [machine.host, machine.ports]),
  };
});

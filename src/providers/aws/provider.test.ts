import assert from 'node:assert/strict';
import { after } from 'node:test';
import { runProviderContract, baseSpec } from '../provider.contract.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvbnRyYWN0Y29udHJhY3Rjb250cmFjdGNvbnRyYWN0 user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Rob3N0aG9zdGhvc3Rob3N0aG9zdGhvc3Rob3N0 root@box' } };

let setup: FakeAwsSetup | undefined;
after(async () => setup?.stop());

// Paging of two exercises NextToken on every list.
runProviderContract('aws', async () => {
  setup = await startFakeAws({ fake: { pageSize: 2 } });
  const fake = setup.fake;
  return {
    provider: setup.provider,
    spec: (leaseId) => ({ ...baseSpec(leaseId, keys), allowedCidrs: ['203.0.113.7/32'] }),
    // Nothing listens on a fake EC2 address: the instance the fake account holds must have the reported public IP.
    reachable: async (machine) => assert.equal(fake.account.instances.get(machine.providerId)?.publicIp, machine.host),
  };
});

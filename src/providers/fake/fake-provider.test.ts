import { runProviderContract, baseSpec } from '../provider.contract.ts';
import { FakeProvider } from './fake-provider.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAfake user', hostKey: { privateKey: 'fake', publicKey: 'ssh-ed25519 AAAAhost' } };

runProviderContract('fake', async () => {
  const provider = new FakeProvider();
  return { provider, spec: (leaseId) => baseSpec(leaseId, keys) };
});

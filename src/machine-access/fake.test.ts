import { FakeMachineAccess } from './fake.ts';
import { runAccessContract } from './contract.ts';

runAccessContract('fake', {
  real: false,
  async make() {
    return { access: new FakeMachineAccess(), machine: { id: 'mch_000000000001', provider: 'fake', providerId: '1', ports: [22] }, cleanup: async () => {} };
  },
});

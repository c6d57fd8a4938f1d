import { ManualClock } from '../../../domain/clock.ts';
import type { MachineSpec } from '../../provider.ts';
import { makeEc2Client } from '../client.ts';
import { AwsProvider, type AwsEvent, type AwsProviderOptions } from '../provider.ts';
import { FakeEc2, type FakeEc2Options } from './server.ts';

export interface FakeAwsSetup {
  fake: FakeEc2;
  provider: AwsProvider;
  clock: ManualClock;
  /** Every sleep the provider asked for, in ms; sleeping only moves the manual clock. */
  sleeps: number[];
  events: AwsEvent[];
  stop(): Promise<void>;
}

/** A started fake EC2 and an AwsProvider pointed at it with static fake credentials and an injected clock. */
export async function startFakeAws(options: Partial<Omit<AwsProviderOptions, 'ec2'>> & { fake?: FakeEc2Options } = {}): Promise<FakeAwsSetup> {
  const fake = await new FakeEc2(options.fake).start();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const sleeps: number[] = [];
  const events: AwsEvent[] = [];
  const ec2 = makeEc2Client({ region: 'us-east-1', endpoint: fake.url, credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret' } });
  const provider = new AwsProvider({
    region: 'us-east-1',
    types: ['c7a.2xlarge', 'c7i.2xlarge', 'c6a.2xlarge'],
    userData: (spec: MachineSpec) => `#cloud-config\n# lease ${spec.leaseId}\n`,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    clock,
    onEvent: (e) => events.push(e),
    ...options,
    ec2,
  });
  return {
    fake,
    provider,
    clock,
    sleeps,
    events,
    async stop() {
      ec2.destroy();
      await fake.stop();
    },
  };
}

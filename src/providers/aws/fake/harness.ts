import type { MachineSpec } from '../../provider.ts';
import { seededRandom } from '../../fake/chaos.ts';
import { RecordingClock } from '../../fake/recording-clock.ts';
import { makeEc2Client } from '../client.ts';
import { AwsProvider, type AwsEvent, type AwsProviderOptions } from '../provider.ts';
import { FakeEc2, type FakeEc2Options } from './server.ts';

export { RecordingClock };

/** The classes the fake-backed tests use: small types the fake prices, three deep so fallbacks show. */
export const TEST_CLASSES = { standard: { aws: ['c7a.2xlarge', 'c7i.2xlarge', 'c6a.2xlarge'] } };

export interface FakeAwsSetup {
  fake: FakeEc2;
  provider: AwsProvider;
  /** Shared by the provider and the fake; time jumps straight to the next wait (autoAdvance) until `stop`. */
  clock: RecordingClock;
  /** Every sleep the provider asked for, in ms. */
  sleeps: number[];
  events: AwsEvent[];
  /** What is still alive in the fake account: live instances, key pairs, security groups beyond the one shared group. */
  leftovers(): string[];
  stop(): Promise<void>;
}

/** Live instances, key pairs and any security group but the single shared `crabbox-runners` one. */
export function awsLeftovers(fake: FakeEc2): string[] {
  const a = fake.account;
  const live = [...a.instances.values()].filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => `instance ${i.id} (${i.state})`);
  const keys = [...a.keyPairs.keys()].map((k) => `key pair ${k}`);
  const groups = [...a.groups.values()];
  const extraGroups = groups.filter((g, n) => g.name !== 'crabbox-runners' || groups.findIndex((o) => o.name === g.name) !== n).map((g) => `security group ${g.id} ${g.name}`);
  return [...live, ...keys, ...extraGroups];
}

/**
 * A started fake EC2 (realistic by default: propagation delays, request budgets) and an AwsProvider pointed at it
 * with static fake credentials, on one manual clock that jumps to each wait, so backoff and polls cost no real time.
 */
export async function startFakeAws(options: Partial<Omit<AwsProviderOptions, 'ec2'>> & { fake?: FakeEc2Options } = {}): Promise<FakeAwsSetup> {
  const clock = new RecordingClock(Date.UTC(2026, 0, 1));
  const fake = await new FakeEc2({ clock, ...options.fake }).start();
  const events: AwsEvent[] = [];
  const ec2 = makeEc2Client({ region: 'us-east-1', endpoint: fake.url, credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret' } });
  const provider = new AwsProvider({
    region: 'us-east-1',
    classes: TEST_CLASSES,
    userData: (spec: MachineSpec) => `#cloud-config\n# lease ${spec.leaseId}\n`,
    clock,
    random: seededRandom(42),
    onEvent: (e) => events.push(e),
    ...options,
    ec2,
  });
  const stopAdvancing = clock.autoAdvance();
  return {
    fake,
    provider,
    clock,
    sleeps: clock.sleeps,
    events,
    leftovers: () => awsLeftovers(fake),
    async stop() {
      stopAdvancing();
      ec2.destroy();
      await fake.stop();
    },
  };
}

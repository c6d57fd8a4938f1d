import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { LEASE_ID_PATTERN, parseLeaseRef, SLUG_PATTERN } from '../domain/ids.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { runCli } from '../testing/cli.ts';
import { fuzzParams, hostileString } from '../testing/fuzz.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { createDirectLeaseService } from './direct.ts';

/**
 * Lease references as users type them: any generated string is refused (one line, exit 64) or resolved to a lease
 * id or slug made only of [a-z0-9_-], so it can never name another path or reach a shell. Resolution and release
 * through the direct lease service and the CLI answer "not found" or the lease, and touch no file.
 */

/** Near misses of real references as well as anything at all. */
const ref: fc.Arbitrary<string> = fc.oneof(
  hostileString(60),
  fc.stringMatching(/^cbx_[0-9a-fA-F]{10,14}$/),
  fc.stringMatching(/^[a-z]{1,9}-[a-z]{1,9}(-[0-9a-f]{3,5})?$/),
  fc.tuple(fc.constantFrom('cbx_0123456789ab', 'blue-lobster', 'run_0123456789ab'), hostileString(6), fc.boolean()).map(([r, junk, front]) => (front ? junk + r : r + junk)),
);

/** Every file under `dir`, relative. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: false }) as string[]).sort();
}

describe('lease refs and slugs under generated input (fast-check)', () => {
  const dir = tempDir('crabbox-refs-fuzz-');
  after(() => dir.remove());

  it('parseLeaseRef refuses a string in one line, or yields an id or slug that is a plain path segment', () => {
    fc.assert(
      fc.property(ref, (input) => {
        let parsed;
        try {
          parsed = parseLeaseRef(input);
        } catch (error) {
          assert.ok(isCrabboxError(error) && error.code === 'bad_request', String(error));
          assert.equal(error.exitCode, ExitCode.usage);
          assert.doesNotMatch(error.message, /[\r\n]/);
          return;
        }
        assert.match(parsed.value, parsed.kind === 'id' ? LEASE_ID_PATTERN : SLUG_PATTERN);
        assert.match(parsed.value, /^[a-z0-9_-]+$/, 'nothing a path or a shell could read differently');
      }),
      fuzzParams(3000),
    );
  });

  it('the direct lease service resolves or releases a generated ref as that lease, not found, or a refusal, and writes no file for it', async () => {
    const state = join(dir.path, 'direct');
    const provider = new FakeProvider();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = {
      owner: 'ada', org: 'local', lease: { ttlSeconds: 5400, idleTimeoutSeconds: 1800, keep: false }, ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
      paths: { userConfig: join(state, 'config.yaml'), stateDir: state }, coordinator: undefined,
    };
    const leases = createDirectLeaseService({ config, provider, clock, waitReady: async () => undefined });
    const { lease } = await leases.create();
    const before = tree(state);
    await fc.assert(
      fc.asyncProperty(ref, fc.boolean(), async (input, release) => {
        try {
          const result = release ? await leases.release(input) : await leases.resolve(input);
          if (release) assert.equal((result as { result: string }).result, 'already-gone', `only an unknown id releases as already gone: ${input}`);
          else assert.equal((result as { id: string }).id, lease.id);
        } catch (error) {
          assert.ok(isCrabboxError(error) && ['bad_request', 'lease_not_found'].includes(error.code), `${JSON.stringify(input)}: ${String(error)}`);
        }
        assert.deepEqual(tree(state), before, `no file appeared or went for ${JSON.stringify(input)}`);
        assert.equal(provider.machines.size, 1, 'the lease is untouched');
      }),
      // Generated refs never name the real lease, so a release can only be "already gone" or a refusal.
      fuzzParams(600),
    );
    assert.equal((await leases.resolve(lease.slug)).id, lease.id);
  });

  it('crabbox status, stop, ssh, logs and results answer a generated ref with one line and exit 0, 64 or 66 and touch no file', async () => {
    const home = join(dir.path, 'cli');
    const env = isolatedEnv(home);
    const first = await runCli(['list', '--json'], { env, cwd: dir.path });
    assert.equal(first.code, 0, first.stderr);
    const before = tree(home);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('status', 'stop', 'ssh', 'logs', 'results', 'heartbeat'), ref, async (command, input) => {
        const argv = command === 'ssh' ? ['ssh', input, '--', 'touch', join(home, 'pwned')] : [command, input];
        const r = await runCli(argv, { env, cwd: dir.path });
        const where = `${argv.join(' ')} -> ${r.code} ${r.stderr}`;
        assert.ok([0, ExitCode.usage, ExitCode.notFound].includes(r.code), where);
        // An input starting with - is read as a flag (`--help` prints help); otherwise only stop of an unknown id is 0.
        if (r.code === 0) assert.ok(command === 'stop' || input.startsWith('-'), `only stop of an unknown id succeeds: ${where}`);
        else assert.equal(r.stderr.trimEnd().split('\n').length, 1, where);
        assert.deepEqual(tree(home).filter((f) => !f.endsWith('sweep.stamp')), before.filter((f) => !f.endsWith('sweep.stamp')), where);
      }),
      fuzzParams(300),
    );
  });
});

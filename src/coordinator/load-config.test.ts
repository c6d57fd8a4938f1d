import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { redact } from '../redact/redact.ts';
import { tempDir } from '../testing/tmp.ts';
import { loadServeSettings } from './load-config.ts';
import { buildProviders } from './providers.ts';

describe('coordinator settings', () => {
  const dir = tempDir('crabbox-coord-config-');
  after(() => dir.remove());
  const file = (name: string, text: string, mode = 0o600) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  const base = { HOME: dir.path };

  it('defaults: loopback, port 8787, SQLite under the state dir, no auth (fail closed)', () => {
    const s = loadServeSettings(base);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 8787);
    assert.equal(s.database, join(dir.path, '.local/state/crabbox/coordinator.sqlite'));
    assert.equal(s.config.auth.sharedToken, undefined);
    assert.equal(s.config.auth.sessionSecret, undefined);
  });

  it('reads a YAML file; flags beat env beat the file', () => {
    const path = file('coordinator.yaml', 'host: 0.0.0.0\nport: 9000\nadmins: [root]\ncaps:\n  activeLeases: { owner: 3 }\n  monthlySpend: { org: 100 }\nprices:\n  fake/small: 0.25\nretention: 7d\nlogTailBytes: 32KiB\n');
    const s = loadServeSettings({ ...base, CRABBOX_COORDINATOR_CONFIG: path, CRABBOX_COORDINATOR_PORT: '9100' }, { host: '127.0.0.1' });
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 9100);
    assert.deepEqual(s.config.auth.admins, ['root']);
    assert.equal(s.config.caps.activeLeases.owner, 3);
    assert.equal(s.config.caps.monthlySpend.org, 100);
    assert.equal(s.config.prices['fake/small'], 0.25);
    assert.equal(s.config.retentionSeconds, 7 * 86_400);
    assert.equal(s.config.logTailBytes, 32 * 1024);
  });

  it('secrets come from env or 0600 files and are registered for redaction', () => {
    const tokenFile = file('token', 'file-shared-token-0123456789\n');
    const s = loadServeSettings({ ...base, CRABBOX_SHARED_TOKEN_FILE: tokenFile, CRABBOX_SESSION_SECRET: 'env-session-secret-0123456789abcdef-xyz' });
    assert.equal(s.config.auth.sharedToken, 'file-shared-token-0123456789');
    assert.equal(redact('x file-shared-token-0123456789 y'), 'x [redacted] y');
  });

  it('refuses secrets in the file, readable secret files, equal secrets and unknown keys, in one line', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ CRABBOX_COORDINATOR_CONFIG: file('a.yaml', 'sharedToken: abcdefghijklmnopqrstuvwxyz\n') }, /Unrecognized key|unrecognized/i],
      [{ CRABBOX_COORDINATOR_CONFIG: file('b.yaml', 'port: [\n') }, /not valid YAML/],
      [{ CRABBOX_COORDINATOR_CONFIG: file('c.yaml', 'port: 70000\n') }, /port/],
      [{ CRABBOX_SHARED_TOKEN_FILE: file('open', 'open-shared-token-0123456789', 0o644) }, /readable by others/],
      [{ CRABBOX_SHARED_TOKEN: 'x', CRABBOX_SHARED_TOKEN_FILE: file('t2', 'y') }, /not both/],
      [{ CRABBOX_SHARED_TOKEN: 'short' }, /at least 16/],
      [{ CRABBOX_SHARED_TOKEN: 'same-value-0123456789abcdef-0123456789', CRABBOX_SESSION_SECRET: 'same-value-0123456789abcdef-0123456789' }, /must differ/],
      [{ CRABBOX_COORDINATOR_PORT: 'eighty' }, /CRABBOX_COORDINATOR_PORT/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadServeSettings({ ...base, ...env }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid_config', error.message);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
  });

  it('tunnel mode: the file section plus the Cloudflare API token secret; either alone or an incomplete org rule is one line', () => {
    const tunnel = 'tunnel:\n  accountId: 0123456789abcdef0123456789abcdef\n  zoneId: fedcba9876543210fedcba9876543210\n  domain: boxes.example.com\n  providers: [hetzner]\n';
    const path = file('tunnel.yaml', tunnel);
    const s = loadServeSettings({ ...base, CLOUDFLARE_API_TOKEN: 'cf-api-token-0123456789abcdef' }, { config: path });
    assert.deepEqual({ ...s.config.tunnel, apiToken: '-' }, { accountId: '0123456789abcdef0123456789abcdef', zoneId: 'fedcba9876543210fedcba9876543210', domain: 'boxes.example.com', providers: ['hetzner'], allow: { kind: 'owner' }, sshPort: 2222, apiToken: '-' });
    assert.equal(redact('token cf-api-token-0123456789abcdef'), 'token [redacted]', 'the token is a registered secret');
    assert.throws(() => loadServeSettings(base, { config: path }), /tunnel mode needs a Cloudflare API token/);
    assert.throws(() => loadServeSettings({ ...base, CLOUDFLARE_API_TOKEN: 'x'.repeat(20) }, { config: file('org.yaml', `${tunnel}  allow: org\n`) }), /tunnel.allow org needs tunnel.emailDomain/);
    assert.throws(() => loadServeSettings(base, { config: file('bad.yaml', tunnel.replace('hetzner', 'local')) }), /tunnel\.providers\.0/);
    assert.throws(() => loadServeSettings(base, { config: file('token.yaml', `${tunnel}  apiToken: x\n`) }), /Unrecognized key|unrecognized/i);
    assert.equal(loadServeSettings({ ...base, CLOUDFLARE_API_TOKEN: 'x'.repeat(20) }).config.tunnel, undefined, 'a token alone turns nothing on');
    const pooled = file('pooled.yaml', `${tunnel}pools:\n  hz: { provider: hetzner, min: 1, max: 2 }\n`);
    assert.throws(() => loadServeSettings({ ...base, CLOUDFLARE_API_TOKEN: 'x'.repeat(20) }, { config: pooled }), /pool hz serves hetzner, which tunnel mode covers; warm pools do not run in tunnel mode yet/);
  });

  it('sudo.classes names the classes whose cold leases get sudo (default none); a bad class name is one line', () => {
    assert.deepEqual(loadServeSettings(base).config.sudo, { classes: [] });
    const s = loadServeSettings(base, { config: file('sudo.yaml', 'sudo:\n  classes: [build-root, fast]\npools:\n  hz: { provider: hetzner, min: 0, max: 2, sudo: true }\n') });
    assert.deepEqual(s.config.sudo, { classes: ['build-root', 'fast'] });
    assert.equal(s.config.pools[0]?.sudo, true);
    assert.throws(() => loadServeSettings(base, { config: file('sudo-bad.yaml', 'sudo:\n  classes: [Root!]\n') }), (error: Error) => {
      assert.match(error.message, /sudo\.classes\.0: expected a machine class name/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    assert.throws(() => loadServeSettings(base, { config: file('sudo-all.yaml', 'sudo: true\n') }), /sudo/);
  });

  it('the provider registry builds known providers by name and refuses others', async () => {
    const env = { HOME: dir.path, HCLOUD_TOKEN: 'hcloud-test-token-not-real-0123456789' };
    const providers = await buildProviders(['fake', 'local', 'hetzner'], { env, stateDir: join(dir.path, 'state') });
    assert.deepEqual(Object.keys(providers), ['fake', 'local', 'hetzner']);
    assert.deepEqual(Object.values(providers).map((p) => p.name), ['fake', 'local', 'hetzner']);
    await assert.rejects(buildProviders(['hetzner2'], { env: {}, stateDir: dir.path }), /not available to the coordinator/);
    await assert.rejects(buildProviders(['hetzner'], { env: { HOME: dir.path }, stateDir: dir.path }), (error: Error & { code?: string }) => error.code === 'invalid_config' && /HCLOUD_TOKEN/.test(error.message));
  });
});

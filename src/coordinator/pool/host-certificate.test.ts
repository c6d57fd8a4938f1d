import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCertificate } from '../../keys/certificate.ts';
import { tempDir } from '../../testing/tmp.ts';
import { sshHostCaConfig } from '../host-ca.ts';
import { PUBLIC_KEY } from '../testkit.ts';
import { poolHarness } from './testkit.ts';

/**
 * A pool machine whose provider cannot present a host certificate at creation (as a cloud box, whose address comes
 * after its user data) is certified after `prepare`, over its machine access, for the address it got; the record then
 * keeps the certificate and a claim's answer names the host CA (docs/ssh-ca.md). The box side of `certifyHost` is
 * pool-box.sh's `host-cert`, run for real in src/bootstrap/bootstrap-ca.test.ts.
 */

const dir = tempDir('crabbox-pool-host-ca-');
after(() => dir.remove());
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', join(dir.path, 'host-ca')]);
const HOST_CA = readFileSync(join(dir.path, 'host-ca'), 'utf8');
const HOST_CA_PUBLIC = readFileSync(join(dir.path, 'host-ca.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');

describe('warm pool machines certified after boot by the host CA', () => {
  it('certifies each new machine once prepared, for its address; a claim answers the plain key and the host CA', async () => {
    await using h = await poolHarness({ pool: { min: 1, max: 1 }, config: { sshHostCa: sshHostCaConfig(HOST_CA, undefined) } });
    const [id] = await h.fill();
    const record = (await h.store.getMachine(id!))!;
    const cert = readCertificate(record.hostKey!);
    assert.deepEqual([cert.type, cert.keyId, cert.principals, cert.caPublicKey], ['host', id, [record.host], HOST_CA_PUBLIC]);
    assert.equal(cert.validBefore - cert.validAfter, 60 + 24 * 3600 + h.config.lease.maxTtlSeconds, 'the pool max age plus the longest lease, and a minute');
    assert.equal(h.access.hostCertificates.get(id!), record.hostKey);
    const ops = h.access.calls.filter((c) => c.machine === id).map((c) => c.op);
    assert.deepEqual(ops.slice(0, 2), ['prepare', 'certifyHost'], 'certified after the box is prepared, before it goes idle');
    assert.equal(cert.publicKey, h.provider.specs[0]!.hostKey.publicKey.split(' ').slice(0, 2).join(' '), 'the key the coordinator made for it');

    const res = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: { sshPublicKey: PUBLIC_KEY, pool: true } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.lease.machine.hostCa, HOST_CA_PUBLIC);
    assert.equal(res.json.lease.machine.hostKey, cert.publicKey);
  });

  it('without a host CA nothing is certified and the host key is pinned as before', async () => {
    await using h = await poolHarness({ pool: { min: 1, max: 1 } });
    const [id] = await h.fill();
    assert.equal(h.access.calls.some((c) => c.op === 'certifyHost'), false);
    assert.match((await h.store.getMachine(id!))!.hostKey!, /^ssh-ed25519 /);
  });
});

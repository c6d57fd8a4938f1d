import type { AnswerInput, Endpoints } from '../api/endpoints.ts';
import type { CertificateBody } from '../api/schemas.ts';
import { endedLeaseError } from '../domain/ended.ts';
import { CrabboxError } from '../domain/errors.ts';
import { isLive } from '../domain/lease.ts';
import { deadline } from '../domain/lifecycle.ts';
import { encodePublicKey } from '../keys/ed25519.ts';
import { loadCertificateAuthority, parseEd25519PrivateKey, parseEd25519PublicKey, signUserCertificate } from '../keys/certificate.ts';
import { leaseUser } from '../machine-access/access.ts';
import { pickSshCidrs } from '../net/cidr.ts';
import type { LeaseRecord } from '../storage/store.ts';
import { audit } from './audit.ts';
import type { CoordinatorDeps } from './deps.ts';

/**
 * The coordinator's SSH user CA (docs/ssh-ca.md): it signs each lease's CLI key for that lease only. The signing key
 * comes from CRABBOX_SSH_CA_KEY(_FILE) (a 0600 file or a secret; never generated here) and is registered with the
 * redaction; a second CA public key may be trusted beside it during a rotation.
 */

export interface SshCaConfig {
  /** The CA's unencrypted openssh-key-v1 private key text: a secret (redacted everywhere, never in an answer). */
  signingKey: string;
  /** The CA public keys boxes trust: the signing key's first, then the other key of a rotation. */
  publicKeys: string[];
}

/** How early a certificate becomes valid, for clocks a little behind the coordinator's. */
export const CERTIFICATE_BACKDATE_SECONDS = 60;

/** The CA settings from the secret and the optional second trusted key; errors never quote the key. */
export function sshCaConfig(signingKey: string | undefined, alsoTrust: string | undefined): SshCaConfig | undefined {
  if (signingKey === undefined) {
    if (alsoTrust) throw new CrabboxError('invalid_config', 'sshCa.alsoTrust needs the CA signing key', { hint: 'set CRABBOX_SSH_CA_KEY_FILE to the CA private key (a 0600 file)' });
    return undefined;
  }
  let own: string;
  try {
    own = encodePublicKey(parseEd25519PrivateKey(signingKey).publicBytes);
  } catch (error) {
    throw new CrabboxError('invalid_config', `CRABBOX_SSH_CA_KEY: ${(error as Error).message}`, { hint: "make one with `ssh-keygen -t ed25519 -N '' -f ssh-ca` (docs/ssh-ca.md)" });
  }
  const publicKeys = [own];
  if (alsoTrust) {
    try {
      parseEd25519PublicKey(alsoTrust);
    } catch (error) {
      throw new CrabboxError('invalid_config', `sshCa.alsoTrust: ${(error as Error).message}`);
    }
    const other = alsoTrust.trim().split(/\s+/).slice(0, 2).join(' ');
    if (other !== own) publicKeys.push(other);
  }
  return { signingKey, publicKeys };
}

/** What a box is made with when the coordinator has a CA and the provider can trust one (MachineSpec.userCa). */
export function boxUserCa(deps: CoordinatorDeps, providerName: string, leaseId?: string): { publicKeys: string[]; principal?: string } | undefined {
  const ca = deps.config.sshCa;
  if (!ca || !deps.providers[providerName]?.capabilities.userCa) return undefined;
  return { publicKeys: ca.publicKeys, ...(leaseId ? { principal: leaseUser(leaseId) } : {}) };
}

type CertificateAnswer = AnswerInput<Endpoints['leaseCertificate']>;

/**
 * Signs the caller's key for a live lease: key id = lease id, principal = the lease's `cbx-<hex>` user, valid from a
 * minute ago until the lease's deadline (the clock is the coordinator's), `permit-pty` plus only the forwarding asked
 * for, `source-address` when the caller's address is known. Audited as `lease.certificate`.
 */
export async function issueCertificate(deps: CoordinatorDeps, actor: string, lease: LeaseRecord, body: CertificateBody, request: { sourceAddress?: string | undefined } = {}): Promise<CertificateAnswer> {
  const ca = deps.config.sshCa;
  if (!ca) throw new CrabboxError('not_found', 'this coordinator has no SSH certificate authority; the lease key alone logs in', { detail: { sshCa: false } });
  const now = deps.clock.now();
  if (!isLive(lease.state) || now >= deadline(lease)) throw endedLeaseError(lease, now);
  if (lease.state !== 'active' || !lease.machine) throw new CrabboxError('lease_not_active', `lease ${lease.slug} has no machine yet; ask for its certificate once it is active`);
  const validAfter = Math.floor(now / 1000) - CERTIFICATE_BACKDATE_SECONDS;
  const validBefore = Math.floor(deadline(lease) / 1000);
  const principals = [leaseUser(lease.id)];
  const sourceAddress = certificateSource(deps, lease, body.callerCidr, request.sourceAddress);
  const forwarding = [...new Set(body.forwarding ?? [])];
  const authority = await loadCertificateAuthority(ca.signingKey); // checked at startup; its errors never quote the key
  let certificate: string;
  try {
    certificate = await signUserCertificate(authority, {
      publicKey: body.sshPublicKey, keyId: lease.id, principals, validAfter, validBefore, serial: now, forwarding, sourceAddress, comment: lease.id,
    });
  } catch (error) {
    // Only the holder's key can be wrong here (the CA key was checked at startup); the message never carries key material.
    throw new CrabboxError('bad_request', `cannot sign that key: ${(error as Error).message.split('\n')[0]}`);
  }
  const iso = (s: number): string => new Date(s * 1000).toISOString();
  await audit(deps.store, {
    type: 'lease.certificate', at: now, actor, lease,
    data: { principals, validBefore: iso(validBefore), ...(sourceAddress ? { sourceAddress } : {}), ...(forwarding.length ? { forwarding } : {}) },
  });
  return { certificate, keyId: lease.id, principals, validAfter: iso(validAfter), validBefore: iso(validBefore), ...(sourceAddress ? { sourceAddress } : {}), forwarding, caPublicKeys: ca.publicKeys };
}

/**
 * The certificate's source-address: loopback for a box on the coordinator's own computer (the CLI reaches it from
 * there), else the CLI's detected CIDR, else the request's source address; none when nothing usable is known.
 */
function certificateSource(deps: CoordinatorDeps, lease: LeaseRecord, callerCidr: string | undefined, source: string | undefined): string | undefined {
  if (deps.providers[lease.provider]?.capabilities.local) return '127.0.0.1/32,::1/128';
  try {
    const cidrs = pickSshCidrs({ detected: callerCidr, source });
    return cidrs.length > 0 ? cidrs.join(',') : undefined;
  } catch {
    return undefined;
  }
}

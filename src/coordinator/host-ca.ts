import { CrabboxError } from '../domain/errors.ts';
import { encodePublicKey } from '../keys/ed25519.ts';
import { loadCertificateAuthority, parseEd25519PrivateKey, signHostCertificate } from '../keys/certificate.ts';
import type { CoordinatorDeps } from './deps.ts';
import { CERTIFICATE_BACKDATE_SECONDS, type SshCaConfig } from './ssh-ca.ts';

/**
 * The coordinator's SSH host CA (docs/ssh-ca.md, "Host certificates"): it signs each machine's host key when the
 * machine is made, for the addresses the provider reports, so the CLI trusts `@cert-authority` for that machine
 * instead of pinning its key. The signing key comes from CRABBOX_SSH_HOST_CA_KEY(_FILE), a key apart from the user
 * CA's, never generated here; it is a secret like the user CA's (redacted everywhere, never in an answer).
 */

export interface SshHostCaConfig {
  /** The host CA's unencrypted openssh-key-v1 private key text: a secret. */
  signingKey: string;
  /** Its `ssh-ed25519 AAAA...` line: what a lease's known_hosts trusts. */
  publicKey: string;
}

/** The host CA settings from its secret; the same key as the user CA's is refused. Errors never quote the key. */
export function sshHostCaConfig(signingKey: string | undefined, userCa: SshCaConfig | undefined): SshHostCaConfig | undefined {
  if (signingKey === undefined) return undefined;
  let publicKey: string;
  try {
    publicKey = encodePublicKey(parseEd25519PrivateKey(signingKey).publicBytes);
  } catch (error) {
    throw new CrabboxError('invalid_config', `CRABBOX_SSH_HOST_CA_KEY: ${(error as Error).message}`, { hint: "make one with `ssh-keygen -t ed25519 -N '' -f ssh-host-ca` (docs/ssh-ca.md)" });
  }
  if (userCa?.publicKeys.includes(publicKey)) {
    throw new CrabboxError('invalid_config', 'CRABBOX_SSH_HOST_CA_KEY is the user CA key: the host CA must be a key of its own', { hint: "make another with `ssh-keygen -t ed25519 -N '' -f ssh-host-ca` (docs/ssh-ca.md)" });
  }
  return { signingKey, publicKey };
}

/**
 * What a machine is made with when the coordinator has a host CA and the provider can present a certificate
 * (MachineSpec.signHostKey): a signer for the box's host key, valid from a minute ago for `validSeconds` (a cold box:
 * the longest lease TTL; a pool machine: its maximum age plus that), key id = the machine id.
 */
export function hostKeySigner(deps: CoordinatorDeps, providerName: string, machineId: string, hostPublicKey: string, validSeconds: number): ((principals: string[]) => Promise<string>) | undefined {
  if (!deps.providers[providerName]?.capabilities.hostCertificate) return undefined;
  return hostCertificateSigner(deps, machineId, hostPublicKey, validSeconds);
}

/** The same signer for any machine, undefined without a host CA: the pool uses it for machines certified after boot. */
export function hostCertificateSigner(deps: CoordinatorDeps, machineId: string, hostPublicKey: string, validSeconds: number): ((principals: string[]) => Promise<string>) | undefined {
  const ca = deps.config.sshHostCa;
  if (!ca) return undefined;
  return async (principals) => {
    const now = deps.clock.now();
    const validAfter = Math.floor(now / 1000) - CERTIFICATE_BACKDATE_SECONDS;
    const clean = [...new Set(principals.map((p) => p.trim()).filter(Boolean))];
    if (clean.length === 0 || clean.some((p) => !/^[A-Za-z0-9.:_-]{1,253}$/.test(p))) throw new CrabboxError('internal', `machine ${machineId}: host certificate principals must be host names or addresses`);
    const authority = await loadCertificateAuthority(ca.signingKey); // checked at startup; its errors never quote the key
    return signHostCertificate(authority, {
      publicKey: hostPublicKey, keyId: machineId, principals: clean, validAfter, validBefore: validAfter + CERTIFICATE_BACKDATE_SECONDS + validSeconds, serial: now, comment: machineId,
    });
  };
}

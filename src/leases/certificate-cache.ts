import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoordinatorClient } from '../api/client.ts';
import type { Clock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { isLive } from '../domain/lease.ts';
import { readCertificate } from '../keys/certificate.ts';
import { leaseKeyPaths } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';

/**
 * Brokered mode's SSH certificates (docs/ssh-ca.md): the coordinator signs the lease key, the certificate is kept
 * beside it as `id_ed25519-cert.pub` (0600) and passed to ssh as CertificateFile. It is asked for once when the lease
 * starts and again only when it would run out before the lease does (after heartbeats moved the expiry), so a warm
 * rerun makes no extra request. A coordinator without a CA is remembered (`certificate.none`) and never asked again.
 */

/** A certificate this close to its end is replaced (when the lease lasts longer). */
export const CERTIFICATE_REFRESH_MS = 5 * 60_000;

export function certificatePaths(keyDir: string): { certificate: string; none: string } {
  const identity = leaseKeyPaths(keyDir).identity;
  return { certificate: `${identity}-cert.pub`, none: join(keyDir, 'certificate.none') };
}

/** The certificate file for ssh when the lease has one. */
export function certificateFileOf(keyDir: string): string | undefined {
  const file = certificatePaths(keyDir).certificate;
  return existsSync(file) ? file : undefined;
}

async function cachedValidBefore(file: string): Promise<number | undefined> {
  try {
    return readCertificate(await readFile(file, 'utf8')).validBefore * 1000;
  } catch {
    return undefined; // missing or unreadable: ask again
  }
}

export interface EnsureCertificateOptions {
  client: Pick<CoordinatorClient, 'call'>;
  clock: Clock;
  keyDir: string;
  lease: DirectLease;
  callerCidr?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

/** True when the lease needs no (new) certificate now: the coordinator has no CA, or the cached one lasts long enough. */
export async function certificateHolds(keyDir: string, lease: DirectLease, now: number): Promise<boolean> {
  if (existsSync(certificatePaths(keyDir).none)) return true;
  const until = await cachedValidBefore(certificatePaths(keyDir).certificate);
  return until !== undefined && (until - now > CERTIFICATE_REFRESH_MS || until >= lease.expiresAt - 1000);
}

/**
 * Makes sure a live lease's key has a certificate that lasts as long as the lease (or nearly): asks the coordinator
 * only when there is none, or it ends within CERTIFICATE_REFRESH_MS while the lease goes on. Returns the file, or
 * undefined when the coordinator has no CA (the lease key alone logs in).
 */
export async function ensureCertificate(options: EnsureCertificateOptions): Promise<string | undefined> {
  const { lease, keyDir, clock } = options;
  const paths = certificatePaths(keyDir);
  if (existsSync(paths.none) || !isLive(lease.state) || !lease.machine) return certificateFileOf(keyDir);
  if (await certificateHolds(keyDir, lease, clock.now())) return paths.certificate;
  const publicKey = (await readFile(leaseKeyPaths(keyDir).publicKey, 'utf8')).trim();
  let certificate: string;
  try {
    const answer = await options.client.call('leaseCertificate', { params: { ref: lease.id }, body: { sshPublicKey: publicKey, ...(options.callerCidr ? { callerCidr: options.callerCidr } : {}) } });
    certificate = answer.certificate;
  } catch (error) {
    if (isCrabboxError(error) && error.code === 'not_found' && error.detail?.sshCa === false) {
      await writeFile(paths.none, 'this coordinator has no SSH CA\n', { mode: 0o600 });
      return undefined;
    }
    throw error;
  }
  const tmp = `${paths.certificate}.new`;
  await rm(tmp, { force: true });
  await writeFile(tmp, `${certificate.trim()}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, paths.certificate);
  options.log?.(`lease ${lease.id}: ssh certificate valid until ${new Date(readCertificate(certificate).validBefore * 1000).toISOString()}`);
  return paths.certificate;
}

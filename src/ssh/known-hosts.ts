import { writeFileAtomic } from '../fs/atomic-write.ts';
import { isCertificateLine, readCertificate } from '../keys/certificate.ts';

/** The host pattern ssh looks up for a host and port: `host` on 22, `[host]:port` otherwise. */
export function knownHostsPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$/;

/**
 * known_hosts text for a box on every port it may answer on. A plain host key is pinned; a host CA key (or a host
 * certificate line, whose signing CA is taken from it) becomes one `@cert-authority` line for exactly those host
 * patterns, so any host key that CA certified for this address is accepted and nothing else (docs/ssh-ca.md).
 */
export function knownHostsText(host: string, ports: readonly number[], hostKey: string, hostCa?: string): string {
  let ca = hostCa;
  let key = hostKey;
  if (ca === undefined && isCertificateLine(hostKey)) {
    const cert = readCertificate(hostKey);
    if (cert.type !== 'host') throw new Error('host key is a user certificate, not a host certificate');
    ca = cert.caPublicKey;
  }
  if (ca !== undefined) key = ca;
  key = key.trim().split(/\s+/).slice(0, 2).join(' ');
  if (!KEY_LINE.test(key)) throw new Error(ca !== undefined ? 'host CA key is not an OpenSSH public key line' : 'host key is not an OpenSSH public key line');
  const patterns = [...new Set(ports)].map((port) => knownHostsPattern(host, port));
  if (ca !== undefined) return `@cert-authority ${patterns.join(',')} ${key}\n`;
  return patterns.map((pattern) => `${pattern} ${key}\n`).join('');
}

/** Writes the per-lease known_hosts atomically (0600). */
export async function writeKnownHosts(file: string, host: string, ports: readonly number[], hostKey: string, hostCa?: string): Promise<void> {
  writeFileAtomic(file, knownHostsText(host, ports, hostKey, hostCa));
}

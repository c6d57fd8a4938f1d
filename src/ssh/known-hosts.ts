import { writeFileAtomic } from '../fs/atomic-write.ts';

/** The host pattern ssh looks up for a host and port: `host` on 22, `[host]:port` otherwise. */
export function knownHostsPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** known_hosts text pinning one host key for every port the box may answer on. */
export function knownHostsText(host: string, ports: readonly number[], hostKey: string): string {
  const key = hostKey.trim().split(/\s+/).slice(0, 2).join(' ');
  if (!/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$/.test(key)) throw new Error('host key is not an OpenSSH public key line');
  return [...new Set(ports)].map((port) => `${knownHostsPattern(host, port)} ${key}\n`).join('');
}

/** Writes the per-lease known_hosts atomically (0600). */
export async function writeKnownHosts(file: string, host: string, ports: readonly number[], hostKey: string): Promise<void> {
  writeFileAtomic(file, knownHostsText(host, ports, hostKey));
}

import { generateEd25519 } from '../keys/ed25519.ts';
import type { HostKeyPair } from './deps.ts';

/** A fresh ed25519 host key pair for a box, made in process (no ssh-keygen on the request path). */
export async function generateHostKey(leaseId: string): Promise<HostKeyPair> {
  const key = await generateEd25519(`crabbox-host-${leaseId}`);
  return { privateKey: key.privateKey, publicKey: key.publicKey };
}

import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { isLeaseId } from '../domain/ids.ts';
import { generateEd25519 } from '../keys/ed25519.ts';

/** Where a lease's key material lives: `<stateDir>/leases/<leaseId>/` (0700). */
export function leaseKeyDir(stateDir: string, leaseId: string): string {
  if (!isLeaseId(leaseId)) throw new CrabboxError('internal', `refusing a key path for malformed lease id ${JSON.stringify(leaseId)}`);
  return join(stateDir, 'leases', leaseId);
}

/** Paths of the files in a lease's key directory. */
export function leaseKeyPaths(dir: string): { dir: string; identity: string; publicKey: string; knownHosts: string } {
  return { dir, identity: join(dir, 'id_ed25519'), publicKey: join(dir, 'id_ed25519.pub'), knownHosts: join(dir, 'known_hosts') };
}

/** Creates a directory (and parents) and forces it to 0700. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Generates the lease's fresh ed25519 client key (no passphrase) in its key directory, in process (src/keys/), as the
 * same two files ssh-keygen writes: `id_ed25519` (0600, created exclusively) and `id_ed25519.pub`. Returns the public key line.
 */
export async function createClientKey(dir: string, leaseId: string): Promise<string> {
  await privateDir(dir);
  const paths = leaseKeyPaths(dir);
  await rm(paths.identity, { force: true });
  await rm(paths.publicKey, { force: true });
  const key = await generateEd25519(`crabbox-${leaseId}`);
  await writeFile(paths.identity, key.privateKey, { mode: 0o600, flag: 'wx' });
  await writeFile(paths.publicKey, `${key.publicKey}\n`, { mode: 0o600, flag: 'wx' });
  return key.publicKey;
}

/** Generates a host key pair for a box, in memory: the private half is returned and never written here. */
export async function createHostKey(leaseId: string): Promise<{ privateKey: string; publicKey: string }> {
  const key = await generateEd25519(`crabbox-host-${leaseId}`);
  return { privateKey: key.privateKey, publicKey: key.publicKey };
}

/** Removes a lease's key directory. Returns whether anything was there. */
export async function removeLeaseKeys(dir: string): Promise<boolean> {
  try {
    await rm(dir, { recursive: true });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

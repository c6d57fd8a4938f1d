import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CrabboxError } from '../domain/errors.ts';
import { isLeaseId } from '../domain/ids.ts';

const run = promisify(execFile);

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

async function keygen(file: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  try {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { timeout: 30_000 });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new CrabboxError('missing_tool', 'ssh-keygen not found', { hint: 'install openssh-client (run `crabbox doctor`)' });
    throw new CrabboxError('missing_tool', `ssh-keygen failed: ${String((error as { stderr?: string }).stderr ?? err.message).trim().split('\n')[0]}`);
  }
  await chmod(file, 0o600);
  await chmod(`${file}.pub`, 0o600);
  return { privateKey: await readFile(file, 'utf8'), publicKey: (await readFile(`${file}.pub`, 'utf8')).trim() };
}

/** Generates the lease's fresh ed25519 client key (no passphrase) in its key directory. Returns the public key line. */
export async function createClientKey(dir: string, leaseId: string): Promise<string> {
  await privateDir(dir);
  const paths = leaseKeyPaths(dir);
  await rm(paths.identity, { force: true });
  await rm(paths.publicKey, { force: true });
  return (await keygen(paths.identity, `crabbox-${leaseId}`)).publicKey;
}

/** Generates a host key pair for a box. The private half is returned and not kept on disk here. */
export async function createHostKey(dir: string, leaseId: string): Promise<{ privateKey: string; publicKey: string }> {
  await privateDir(dir);
  const file = join(dir, 'host_ed25519_key');
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  try {
    return await keygen(file, `crabbox-host-${leaseId}`);
  } finally {
    await unlink(file).catch(() => undefined);
    await unlink(`${file}.pub`).catch(() => undefined);
  }
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

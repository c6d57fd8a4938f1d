import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CrabboxError } from '../../domain/errors.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { parseEd25519PublicKey } from '../../keys/certificate.ts';

/**
 * The box side of the SSH user CA for boxes whose sshd Crabbox configures (the `local` provider): the CA public keys
 * sshd trusts (`TrustedUserCAKeys`) and the key revocation list (`RevokedKeys`, a binary KRL made by `ssh-keygen -k`).
 * Both live in the machine dir (the CLI or coordinator user's, 0700), which no lease user can reach. A missing or
 * unreadable KRL makes sshd refuse every key, so a box fails closed.
 */

const run = promisify(execFile);

/** The files of a box that trusts a user CA, in its machine dir. */
export function userCaFiles(machineDir: string): { caKeys: string; revoked: string } {
  return { caKeys: join(machineDir, 'user_ca_keys'), revoked: join(machineDir, 'revoked_keys') };
}

/** Writes the trusted CA keys (one `ssh-ed25519` line each, checked) and an empty KRL. */
export async function installUserCa(machineDir: string, publicKeys: string[]): Promise<void> {
  if (publicKeys.length === 0 || publicKeys.length > 2) throw new CrabboxError('invalid_config', 'a box trusts one or two SSH user CA keys');
  const lines = publicKeys.map((line) => {
    try {
      parseEd25519PublicKey(line);
    } catch (error) {
      throw new CrabboxError('invalid_config', `SSH user CA public key: ${(error as Error).message}`);
    }
    return line.trim().split(/\s+/).slice(0, 2).join(' ');
  });
  const files = userCaFiles(machineDir);
  await writeFile(files.caKeys, `${lines.join('\n')}\n`, { mode: 0o600 });
  const tmp = `${files.revoked}.new`;
  await rm(tmp, { force: true });
  await keygen(['-k', '-f', tmp]);
  await rename(tmp, files.revoked);
}

/**
 * Adds the certificates with these key ids (lease ids) of every trusted CA to the box's KRL, so sshd refuses them at
 * once, before they expire. Updates a copy and renames it into place: sshd never reads a half-written list.
 */
export async function revokeCertificates(machineDir: string, leaseIds: string[]): Promise<void> {
  for (const id of leaseIds) if (!isLeaseId(id)) throw new CrabboxError('internal', `refusing to revoke malformed key id ${JSON.stringify(id)}`);
  const files = userCaFiles(machineDir);
  let keys: string[];
  try {
    keys = (await readFile(files.caKeys, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // a box without a CA: nothing to revoke
    throw error;
  }
  if (leaseIds.length === 0) return;
  const tmp = `${files.revoked}.new`;
  const spec = join(machineDir, 'revoke.spec');
  const ca = join(machineDir, 'revoke-ca.pub');
  try {
    await writeFile(tmp, await readFile(files.revoked), { mode: 0o600 });
    await writeFile(spec, leaseIds.map((id) => `id: ${id}\n`).join(''), { mode: 0o600 });
    for (const key of keys) {
      await writeFile(ca, `${key}\n`, { mode: 0o600 });
      await keygen(['-k', '-u', '-f', tmp, '-s', ca, spec]);
    }
    await rename(tmp, files.revoked);
  } finally {
    await Promise.all([tmp, spec, ca].map((f) => rm(f, { force: true })));
  }
}

async function keygen(args: string[]): Promise<void> {
  try {
    await run('ssh-keygen', ['-q', ...args], { timeout: 30_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new CrabboxError('missing_tool', 'ssh-keygen not found (needed for the SSH CA revocation list)', { hint: 'install openssh-client (run `crabbox doctor`)' });
    throw new CrabboxError('provider_error', `ssh-keygen could not update the revocation list: ${(e.stderr ?? e.message).trim().split('\n')[0]}`);
  }
}

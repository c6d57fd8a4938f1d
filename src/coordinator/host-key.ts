import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CrabboxError } from '../domain/errors.ts';
import type { HostKeyPair } from './deps.ts';

const run = promisify(execFile);

/** A fresh ed25519 host key pair for a box, made by ssh-keygen in a private temp dir that is removed at once. */
export async function generateHostKey(): Promise<HostKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'crabbox-hostkey-'));
  try {
    const file = join(dir, 'host_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'crabbox-host', '-f', file], { timeout: 15_000 });
    const [privateKey, publicKey] = await Promise.all([readFile(file, 'utf8'), readFile(`${file}.pub`, 'utf8')]);
    return { privateKey, publicKey: publicKey.trim() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CrabboxError('missing_tool', 'ssh-keygen was not found', { hint: 'install OpenSSH (openssh-client)' });
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CrabboxError } from '../../domain/errors.ts';
import type { MachineAccess } from '../../machine-access/access.ts';
import { FakeMachineAccess } from '../../machine-access/fake.ts';
import { createLocalMachineAccess } from '../../machine-access/local.ts';
import { createSshMachineAccess } from '../../machine-access/ssh.ts';
import type { Provider } from '../../providers/provider.ts';
import { registerSecret } from '../../redact/redact.ts';
import { privateDir } from '../../ssh/keys.ts';
import { readSecret } from '../load-config.ts';
import type { PoolConfig } from './config.ts';

/** The installation admin key pool machines are managed with: the private half stays a coordinator secret. */
export interface AdminKey {
  file: string;
  publicKey: string;
}

/**
 * Reads the installation admin key from CRABBOX_POOL_ADMIN_KEY_FILE (a 0600 OpenSSH private key) or
 * CRABBOX_POOL_ADMIN_KEY (the key itself, written to a 0600 file in the coordinator's private state dir for ssh).
 * Never stored in the database; registered for redaction.
 */
export async function loadAdminKey(env: NodeJS.ProcessEnv, stateDir: string): Promise<AdminKey | undefined> {
  const fileEnv = env.CRABBOX_POOL_ADMIN_KEY_FILE;
  const text = readSecret(env, 'CRABBOX_POOL_ADMIN_KEY');
  if (text === undefined) return undefined;
  if (!/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text)) throw new CrabboxError('invalid_config', 'CRABBOX_POOL_ADMIN_KEY(_FILE) must be an OpenSSH private key (ssh-keygen -t ed25519)');
  let file = fileEnv;
  if (!file) {
    const dir = join(stateDir, 'pool');
    await privateDir(dir);
    file = join(dir, 'admin_key');
    writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
  }
  let publicKey: string;
  try {
    publicKey = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new CrabboxError('invalid_config', 'CRABBOX_POOL_ADMIN_KEY(_FILE): ssh-keygen cannot read the key (a passphrase-protected key is not supported)');
  }
  registerSecret(text);
  return { file, publicKey: `${publicKey.split(/\s+/).slice(0, 2).join(' ')} crabbox-pool-admin` };
}

/** Providers whose pool machines are reached over ssh with the admin key. */
const REMOTE = new Set(['hetzner', 'aws', 'ssh']);

/**
 * How the pool reaches each served provider's machines. Refuses, in one line, a pool whose provider is not served or
 * a remote pool without the admin key.
 */
export function buildMachineAccess(pools: readonly PoolConfig[], providers: Record<string, Provider>, ctx: { stateDir: string; localBoxesRoot?: string | undefined; adminKey?: AdminKey | undefined }): Record<string, MachineAccess> {
  for (const pool of pools) {
    if (!providers[pool.provider]) throw new CrabboxError('invalid_config', `pools.${pool.name}.provider: ${pool.provider} is not served by this coordinator (served: ${Object.keys(providers).join(', ')})`, { hint: 'add it to --providers / CRABBOX_COORDINATOR_PROVIDERS' });
    // A machine a root lease had must be gone after it: only providers that destroy what they delete qualify (not
    // `local`, whose lease users are users of this machine, nor `ssh`, whose hosts are claimed again).
    if (pool.sudo && providers[pool.provider]!.capabilities.leaseSudo !== true) {
      const served = Object.entries(providers).filter(([, p]) => p.capabilities.leaseSudo === true).map(([n]) => n);
      throw new CrabboxError('invalid_config', `pools.${pool.name}.sudo: a ${pool.provider} pool cannot grant sudo (its machines outlive a delete, so a machine a root lease had could serve again)`, {
        hint: `remove sudo, or use a pool of a provider whose machines are destroyed when deleted${served.length ? ` (served here: ${served.join(', ')})` : ' (hetzner, aws)'}; docs/pool.md`,
      });
    }
    if (REMOTE.has(pool.provider) && !ctx.adminKey) {
      throw new CrabboxError('invalid_config', `pools.${pool.name}: a ${pool.provider} pool needs the installation admin key`, { hint: 'set CRABBOX_POOL_ADMIN_KEY_FILE to a 0600 OpenSSH private key (ssh-keygen -t ed25519 -N "" -f pool-admin)' });
    }
    if (pool.provider === 'local' && process.getuid?.() !== 0) {
      throw new CrabboxError('invalid_config', `pools.${pool.name}: a local pool needs the coordinator to run as root (each lease gets its own Unix user)`);
    }
  }
  const access: Record<string, MachineAccess> = {};
  for (const name of Object.keys(providers)) {
    if (name === 'local' && process.getuid?.() === 0) access.local = createLocalMachineAccess({ stateDir: ctx.stateDir, boxesRoot: ctx.localBoxesRoot });
    else if (name === 'fake') access.fake = new FakeMachineAccess();
    else if (REMOTE.has(name) && ctx.adminKey) access[name] = createSshMachineAccess({ adminKeyFile: ctx.adminKey.file, stateDir: ctx.stateDir, requireReady: name !== 'ssh' });
  }
  return access;
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostKey } from '../ssh/keys.ts';
import type { HostKeyPair } from './deps.ts';

/** A fresh ed25519 host key pair for a box (ssh-keygen in a private temp dir, removed at once). */
export async function generateHostKey(): Promise<HostKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'crabbox-hostkey-'));
  try {
    return await createHostKey(join(dir, 'key'), 'coordinator');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

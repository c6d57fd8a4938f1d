import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh ed25519 key pair from ssh-keygen (tests: every lease needs its own key, as in real use). */
export function generateKeyPair(comment = 'crabbox-test'): { privateKey: string; publicKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'crabbox-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(dir, 'key')], { stdio: 'ignore' });
    return { privateKey: readFileSync(join(dir, 'key'), 'utf8'), publicKey: readFileSync(join(dir, 'key.pub'), 'utf8').trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

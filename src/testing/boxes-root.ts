import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway boxes root for the local provider, where the provider accepts one: as root under /var/lib (root-owned
 * 0711, every ancestor root's and not writable by others, so sshd's StrictModes accepts the authorized key beside the
 * home); otherwise under the home directory. Never under /tmp or /var/tmp: the provider refuses those as root.
 */
export function testBoxesRoot(prefix = 'crabbox-test-boxes-'): { path: string; remove(): void } {
  const asRoot = process.getuid?.() === 0;
  const path = mkdtempSync(asRoot ? join('/var/lib', prefix) : join(homedir(), `.${prefix}`));
  chmodSync(path, asRoot ? 0o711 : 0o700);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

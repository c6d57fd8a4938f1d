import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * A throwaway network namespace with only its loopback up: a box's sshd started in it (startStaticHost's `netns`)
 * listens on 127.0.0.1 there, and nothing on this side can reach it except through `relayCommand`, the stand-in
 * proxy. Needs root and `ip`.
 */
export interface NetnsFixture {
  name: string;
  /**
   * A ProxyCommand that relays stdin/stdout to `%h:%p` inside the namespace (src/testing/netns-relay.ts). The relay
   * connects to the port in `CBX_RELAY_DIVERT` instead when that is set in ssh's environment: a man in the middle.
   */
  relayCommand: string;
  remove(): void;
}

const RELAY = fileURLToPath(new URL('./netns-relay.ts', import.meta.url));

/** Creates the namespace and brings its loopback up. */
export function createNetns(): NetnsFixture {
  if (process.getuid?.() !== 0) throw new Error('the network namespace fixture needs root (ip netns add)');
  const name = `cbx-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    execFileSync('ip', ['netns', 'del', name]);
    throw error;
  }
  return {
    name,
    relayCommand: `ip netns exec ${name} ${process.execPath} ${RELAY} %h %p`,
    remove: () => execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }),
  };
}

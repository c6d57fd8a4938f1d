import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { DIRECT, parseTransport, type Transport } from '../domain/transport.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';

/** The lease's recorded transport, beside its key: `<stateDir>/leases/<id>/transport.json`. */
const fileIn = (keyDir: string): string => join(keyDir, 'transport.json');

/** Records how this lease is reached (0600, in the lease's private key directory); `direct` writes nothing. */
export function writeLeaseTransport(keyDir: string, transport: Transport): void {
  if (transport.kind === 'direct') return;
  writeFileAtomic(fileIn(keyDir), `${JSON.stringify(transport)}\n`);
}

/**
 * The transport recorded for a lease: none recorded (leases made before transports, or direct ones) is `direct`.
 * A damaged record is refused rather than guessed: guessing `direct` would send ssh to a port that is meant to be closed.
 */
export function readLeaseTransport(keyDir: string): Transport {
  let text: string;
  try {
    text = readFileSync(fileIn(keyDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DIRECT;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const transport = parseTransport(value);
  if (!transport) throw new CrabboxError('invalid_config', `${fileIn(keyDir)} is not a transport record; refusing to guess how to reach the box`, { hint: 'release the lease with `crabbox stop` and lease a new one' });
  return transport;
}

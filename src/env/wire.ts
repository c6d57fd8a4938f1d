import { CrabboxError } from '../domain/errors.ts';
import { ENV_NAME } from './allowlist.ts';
import type { EnvPair } from './select.ts';

/**
 * The env block the remote wrapper reads from its stdin before it execs the command. Values travel only here:
 * never in argv, a shell string or a file.
 *
 * Wire format (version 1), a sequence of NUL-terminated records:
 *
 *   "CBXENV1" NUL                 magic and version
 *   NAME "=" VALUE NUL            one per variable; NAME matches [A-Za-z_][A-Za-z0-9_]*, VALUE is any bytes but NUL
 *   NUL                           an empty record ends the block
 *
 * Everything after the terminating NUL is the command's own stdin, untouched. A value cannot contain NUL (the
 * kernel's environment cannot either), so no escaping is needed; newlines, quotes, `$(...)` and backslashes pass
 * through as bytes. bash reads it with `read -r -d ''` (see read-env.bash).
 */
export const ENV_BLOCK_MAGIC = 'CBXENV1';

/** Encodes forwarded variables as an env block. Throws on a name that is not an env name or a value containing NUL. */
export function encodeEnvBlock(pairs: readonly EnvPair[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${ENV_BLOCK_MAGIC}\0`)];
  for (const { name, value } of pairs) {
    if (!ENV_NAME.test(name)) throw new CrabboxError('invalid_input', `env name ${JSON.stringify(name.slice(0, 80))} cannot be forwarded`);
    if (value.includes('\0')) throw new CrabboxError('invalid_input', `env ${name}: a value cannot contain a NUL byte`);
    parts.push(Buffer.from(`${name}=${value}\0`));
  }
  parts.push(Buffer.from('\0'));
  return Buffer.concat(parts);
}

/** Decodes an env block; returns the variables and whatever followed the block. Throws on a malformed or truncated block. */
export function decodeEnvBlock(data: Buffer): { pairs: EnvPair[]; rest: Buffer } {
  let offset = 0;
  const next = (): string => {
    const end = data.indexOf(0, offset);
    if (end === -1) throw new CrabboxError('invalid_input', 'env block is truncated (no terminating NUL)');
    const record = data.subarray(offset, end).toString('utf8');
    offset = end + 1;
    return record;
  };
  if (next() !== ENV_BLOCK_MAGIC) throw new CrabboxError('invalid_input', `env block does not start with ${ENV_BLOCK_MAGIC}`);
  const pairs: EnvPair[] = [];
  for (let record = next(); record !== ''; record = next()) {
    const eq = record.indexOf('=');
    const name = eq === -1 ? record : record.slice(0, eq);
    if (eq === -1 || !ENV_NAME.test(name)) throw new CrabboxError('invalid_input', `env block record ${pairs.length + 1} is not NAME=value`);
    pairs.push({ name, value: record.slice(eq + 1) });
  }
  return { pairs, rest: data.subarray(offset) };
}

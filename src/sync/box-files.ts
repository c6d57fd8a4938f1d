import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { BoxConnection } from './box.ts';
import { BOOTSTRAP, field, scriptPayload } from './protocol.ts';

/** Runs crabbox-files.sh on the box with a request and returns its stdout. */
function call(box: BoxConnection, request: Buffer, timeoutMs: number, clock: Pick<Clock, 'setTimeout'> = systemClock): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = box.exec(BOOTSTRAP);
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    const timer = clock.setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (error) => reject(new CrabboxError('ssh_failed', `cannot reach the box: ${error.message}`)));
    child.on('close', (code) => {
      timer.cancel();
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new CrabboxError('ssh_failed', `collecting files from the box failed (exit ${code})`));
    });
    child.stdin.end(Buffer.concat([scriptPayload('crabbox-files.sh'), request]));
  });
}

/** Regular files under the workdir on the box, relative paths (`.git` and `node_modules` are not entered). */
export async function listBoxFiles(box: BoxConnection, workdir: string, options: { maxEntries?: number; timeoutMs?: number } = {}): Promise<string[]> {
  const out = await call(box, Buffer.concat(['crabbox-files/1', workdir, 'list', options.maxEntries ?? 200_000].map(field)), options.timeoutMs ?? 60_000);
  return out.toString('utf8').split('\0').filter(Boolean);
}

/** Reads files from the workdir on the box, each cut at `maxBytes`; a missing file has `content: undefined`. */
export async function readBoxFiles(box: BoxConnection, workdir: string, paths: readonly string[], options: { maxBytes: number; timeoutMs?: number }): Promise<{ path: string; content: Buffer | undefined }[]> {
  if (paths.length === 0) return [];
  const request = Buffer.concat([...['crabbox-files/1', workdir, 'read', options.maxBytes].map(field), ...paths.map(field), field('')]);
  const out = await call(box, request, options.timeoutMs ?? 120_000);
  const files: { path: string; content: Buffer | undefined }[] = [];
  let at = 0;
  const next = (): string => {
    const end = out.indexOf(0, at);
    if (end < 0) throw new CrabboxError('ssh_failed', 'the box sent a truncated file listing');
    const text = out.subarray(at, end).toString('utf8');
    at = end + 1;
    return text;
  };
  while (at < out.length) {
    const path = next();
    const size = next();
    if (size === '-') {
      files.push({ path, content: undefined });
      continue;
    }
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0 || at + n > out.length) throw new CrabboxError('ssh_failed', 'the box sent a malformed file');
    files.push({ path, content: out.subarray(at, at + n) });
    at += n;
  }
  return files;
}

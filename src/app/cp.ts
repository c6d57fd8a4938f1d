import { existsSync, lstatSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fetchFromBox, type BoxEntry, type FetchResult } from '../artifacts/fetch.ts';
import { validateDownloadPattern } from '../artifacts/globs.ts';
import { CrabboxError } from '../domain/errors.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { sshBox } from '../run/box.ts';
import type { BoxConnection } from '../sync/box.ts';
import { gitTopLevel } from '../sync/git.ts';
import { workspaceFor } from '../sync/workspace.ts';
import type { AppContext } from './context.ts';
import { leaseSession } from './session.ts';

/** One side of `crabbox cp`: a path on this computer, or `<lease>:<path>` in the lease's checkout on the box. */
export type CpSide = { kind: 'local'; path: string } | { kind: 'box'; lease: string; path: string };

/**
 * Reads a `cp` argument: `<lease>:<path>` when the part before the first `:` is a lease id or slug, else a local path
 * (write `./a:b` for a local name with a colon). A box path is relative to the checkout on the box.
 */
export function parseCpSide(arg: string): CpSide {
  const colon = arg.indexOf(':');
  if (colon > 0) {
    const ref = arg.slice(0, colon);
    let isRef = true;
    try {
      parseLeaseRef(ref);
    } catch {
      isRef = false;
    }
    if (isRef) {
      const raw = arg.slice(colon + 1) || '.';
      if (/[*?]/.test(raw)) throw new CrabboxError('bad_request', `crabbox cp ${JSON.stringify(arg.slice(0, 80))}: a box path is a file or folder, not a glob; use \`crabbox run --download\` for globs`);
      return { kind: 'box', lease: ref, path: validateDownloadPattern(raw, 'crabbox cp') };
    }
  }
  if (arg === '') throw new CrabboxError('bad_request', 'crabbox cp: an empty path');
  return { kind: 'local', path: arg };
}

export interface CpResult {
  direction: 'from-box' | 'to-box';
  /** Files written (from the box), or `undefined` for an upload (rsync counts its own). */
  files?: number | undefined;
  bytes?: number | undefined;
  /** Where the copy went: a local path, or `<lease>:<path>`. */
  target: string;
}

/** The box's checkout for the current folder's checkout, and a connection to it. */
async function boxFor(ctx: AppContext, lease: string, provider: string | undefined): Promise<{ box: BoxConnection; workdir: string; limits: { maxFiles: number; maxBytes: number } }> {
  const repoRoot = await gitTopLevel(ctx.cwd);
  if (!repoRoot) throw new CrabboxError('bad_request', `${ctx.cwd} is not inside a git checkout; crabbox cp copies to and from this checkout's folder on the box`, { hint: 'run it from the checkout you run crabbox run in' });
  const session = await leaseSession(ctx, { provider });
  const held = await session.leases.touch(lease);
  const machine = held.machine;
  if (!machine) throw new CrabboxError('lease_not_active', `lease ${held.id} has no machine`);
  const target = session.leases.target(held);
  const box = await sshBox(target, { local: session.local, signal: ctx.signal });
  const { workdir } = workspaceFor({ workRoot: machine.workRoot, leaseId: held.id, repoRoot });
  return { box, workdir, limits: { maxFiles: session.config.artifacts.maxFiles, maxBytes: session.config.artifacts.maxBytes } };
}

/** Where each chosen box file goes: the folder written into, and each file's path under it. */
function plan(entries: BoxEntry[], from: string, to: string): { dest: string; files: Map<string, string> } {
  const exact = entries.find((e) => e.path === from);
  if (exact && exact.kind !== 'file') throw new CrabboxError('invalid_input', `${from} on the box is a symlink or special file, or lies under a symlink; crabbox cp never follows or copies those`);
  const under = from === '.' ? entries : entries.filter((e) => e.path.startsWith(`${from}/`));
  if (!exact && under.length === 0) throw new CrabboxError('not_found', `no ${from} in the checkout on the box`);
  const into = existsSync(to) && lstatSync(to).isDirectory();
  // A copy lands in an existing folder under its own name; otherwise it becomes `to`.
  const dest = into ? to : dirname(to);
  const top = into ? (from === '.' ? '' : basename(from)) : basename(to);
  if (!into && !(existsSync(dest) && lstatSync(dest).isDirectory())) throw new CrabboxError('not_found', `${dest} is not a folder here`);
  if (top && existsSync(resolve(dest, top))) throw new CrabboxError('conflict', `${resolve(dest, top)} already exists; crabbox cp never writes over files`, { hint: 'remove it or copy to a new path' });
  const chosen = new Map<string, string>();
  if (exact) chosen.set(exact.path, top);
  for (const e of under) if (e.kind === 'file') chosen.set(e.path, [top, from === '.' ? e.path : e.path.slice(from.length + 1)].filter(Boolean).join('/'));
  return { dest, files: chosen };
}

/** Sends a local file or folder to `path` in the checkout on the box (rsync over the lease's connection; links kept as links). */
function upload(box: BoxConnection, source: string, remote: string, signal: AbortSignal): Promise<void> {
  const folder = lstatSync(source).isDirectory();
  const args = ['--recursive', '--links', '--perms', '--times', '--mkpath', '--no-devices', '--no-specials', '-e', box.rsync.rsh,
    folder ? `${source.replace(/\/+$/, '')}/` : source, `${box.rsync.host}:${remote}${folder ? '/' : ''}`];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('rsync', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, signal });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new CrabboxError('missing_tool', 'rsync is not installed or not on PATH') : new CrabboxError('interrupted', 'interrupted')));
    child.on('close', (code) => {
      if (code === 0) return resolvePromise();
      const detail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-1)[0]?.slice(0, 300);
      reject(new CrabboxError('sync_failed', `copying to the box failed (rsync exit ${code})${detail ? `: ${detail}` : ''}`));
    });
  });
}

/**
 * `crabbox cp <lease>:<path> <local>` and `crabbox cp <local> <lease>:<path>`: copies between this computer and the
 * lease's checkout on the box. From the box, the safety of downloads applies (docs/artifacts.md): files only inside
 * the target, symlinks never followed or copied, never over an existing file, artifacts.maxFiles/maxBytes.
 */
export async function copy(ctx: AppContext, input: { source: string; dest: string; provider?: string | undefined }): Promise<CpResult> {
  const from = parseCpSide(input.source);
  const to = parseCpSide(input.dest);
  if ((from.kind === 'box') === (to.kind === 'box')) {
    throw new CrabboxError('bad_request', 'crabbox cp copies between this computer and a box: exactly one side is <lease>:<path>', { hint: 'crabbox cp <lease>:coverage ./coverage, or crabbox cp ./fixtures <lease>:fixtures' });
  }
  if (from.kind === 'box' && to.kind === 'local') {
    const local = resolve(ctx.cwd, to.path);
    const { box, workdir, limits } = await boxFor(ctx, from.lease, input.provider);
    const result: FetchResult = await fetchFromBox({ box, workdir, roots: [from.path], limits, limitNames: { files: 'artifacts.maxFiles', bytes: 'artifacts.maxBytes' }, clock: ctx.clock, select: (entries) => plan(entries, from.path, local) });
    return { direction: 'from-box', files: result.files.length, bytes: result.bytes, target: local };
  }
  if (from.kind !== 'local' || to.kind !== 'box') throw new CrabboxError('internal', 'internal error: cp sides');
  const source = resolve(ctx.cwd, from.path);
  if (!existsSync(source)) throw new CrabboxError('not_found', `no ${from.path} here`);
  const { box, workdir } = await boxFor(ctx, to.lease, input.provider);
  await upload(box, source, to.path === '.' ? workdir : `${workdir}/${to.path}`, ctx.signal);
  return { direction: 'to-box', target: `${to.lease}:${to.path}` };
}

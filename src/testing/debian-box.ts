import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { ensureDebianRoot } from './debian-root.ts';
import { tempDir } from './tmp.ts';
import { LEASE_UID_COUNT, LEASE_UID_FIRST } from '../providers/local/uids.ts';

/**
 * A cloud box made from rendered cloud-init user data on this computer: its files and runcmd are applied to a minimal
 * Debian root (debootstrap, src/testing/debian-root.ts) in an overlay, in a chroot inside a network namespace of the
 * test's own (loopback only), and sshd is started from the result. Each box gets its own namespace, so two may listen
 * on 2222 and 22 at once.
 */

export interface CloudConfig {
  write_files: { path: string; permissions: string; encoding: string; content: string }[];
  runcmd: string[][];
  ssh_keys: { ed25519_public: string };
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], options: { timeout?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: options.timeout ?? 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Removes mounts and namespaces a crashed earlier run left behind (their names carry the dead run's pid). */
function cleanupCrashedRuns(): void {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  for (const target of mounts.reverse()) {
    const pid = /\/crabbox-bootstrap-(\d+)-/.exec(target)?.[1];
    if (pid && !alive(Number(pid))) run('umount', ['-l', target]);
  }
  for (const line of run('ip', ['netns', 'list']).stdout.split('\n')) {
    const pid = /^crabbox-bt-(\d+)\b/.exec(line)?.[1];
    if (pid && !alive(Number(pid))) run('ip', ['netns', 'del', line.split(/\s/)[0]!]);
  }
}

/**
 * Where a test box's lease UIDs start: in the upper half of the lease range (src/providers/local/uids.ts), 16 UIDs
 * per box, by test process and box. Boxes share this host's kernel and have no PID namespace, so a scrub in one box
 * (`pkill -U <uid>`) kills any process with that UID on the host, another box's lease user included.
 */
let boxesMade = 0;
// Test processes run at once have nearby pids: the pid picks the slot, and a process's later boxes step far from it.
const boxFirstUid = (): number => LEASE_UID_FIRST + LEASE_UID_COUNT / 2 + ((process.pid + boxesMade++ * 389) % 2048) * 16;

export interface DebianBox {
  /** The temp dir for the test's own files (keys, known_hosts). */
  dir: string;
  /** The box's root as seen from outside. */
  merged: string;
  config: CloudConfig;
  /** What the bootstrap printed. */
  output: string;
  inNs(cmd: string[], timeout?: number): RunResult;
  inRoot(cmd: string[]): RunResult;
  /** ssh to 127.0.0.1 in the namespace, strict host key checking against `knownHosts`, no config, batch mode. */
  ssh(options: { user: string; port: number; command: string; identity: string; knownHosts: string; extra?: string[] }): RunResult;
  close(): void;
}

/**
 * Boots a box from `userData`. `before(box)` runs after the files are written and before the bootstrap (the test's
 * own additions); `ready` is a login that must succeed once sshd is up.
 */
export async function bootDebianBox(tag: string, userData: string, options: { before?: (box: DebianBox) => void; ready: (box: DebianBox) => boolean }): Promise<DebianBox> {
  const root = ensureDebianRoot();
  if (!root.ok) throw new Error(`the bootstrap test cannot run: ${root.reason}; run the suite as root after \`bash scripts/setup.sh --test\`, as CI does`);
  cleanupCrashedRuns();
  const tmp = tempDir(`crabbox-bootstrap-${process.pid}-${tag}-`);
  const ns = `crabbox-bt-${process.pid}-${tag}`;
  const merged = join(tmp.path, 'merged');
  const mounts: string[] = [];
  let sshd: ChildProcess | undefined;
  const inNs = (cmd: string[], timeout?: number): RunResult => run('ip', ['netns', 'exec', ns, ...cmd], { timeout });
  const box: DebianBox = {
    dir: tmp.path,
    merged,
    config: parse(userData) as CloudConfig,
    output: '',
    inNs,
    inRoot: (cmd) => inNs(['chroot', merged, ...cmd]),
    ssh: (o) => inNs(['ssh', '-F', '/dev/null', '-i', o.identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${o.knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=15', ...(o.extra ?? []), '-p', String(o.port), `${o.user}@127.0.0.1`, o.command], 45_000),
    close: () => {
      if (sshd?.pid && sshd.exitCode === null) sshd.kill('SIGTERM');
      for (const target of mounts) run('umount', ['-l', target]);
      run('ip', ['netns', 'del', ns]);
      tmp.remove();
    },
  };
  try {
    for (const dir of ['upper', 'work', 'merged']) mkdirSync(join(tmp.path, dir));
    const mount = (args: string[], target: string): void => {
      const r = run('mount', [...args, target]);
      if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
      mounts.unshift(target);
    };
    // The cached root stays pristine: the test writes into an overlay on top of it.
    mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=${root.path},upperdir=${join(tmp.path, 'upper')},workdir=${join(tmp.path, 'work')}`], merged);
    mount(['-t', 'proc', 'proc'], join(merged, 'proc'));
    mount(['--bind', '/dev'], join(merged, 'dev'));
    if (run('ip', ['netns', 'add', ns]).status !== 0) throw new Error(`ip netns add ${ns} failed`);
    if (inNs(['ip', 'link', 'set', 'lo', 'up']).status !== 0) throw new Error('ip link set lo up failed');
    // What cloud-init's write_files does: decode, write, chmod.
    for (const file of box.config.write_files) {
      const target = join(merged, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, writeFileBody(file));
      chmodSync(target, Number.parseInt(file.permissions, 8));
    }
    // The box's lease users take UIDs from the same range as this host's `local` leases and other boxes', on the same
    // kernel: a host test or another box ending its lease user would kill (and purge the files of) a user here with
    // the same UID. Each box starts at its own place in the upper half of the range (boxFirstUid).
    mkdirSync(join(merged, 'var/lib/crabbox'), { recursive: true });
    writeFileSync(join(merged, 'var/lib/crabbox/next-uid'), `${boxFirstUid()}\n`);
    options.before?.(box);
    for (const cmd of box.config.runcmd) {
      const r = box.inRoot(cmd);
      box.output += r.stdout + r.stderr;
      if (r.status !== 0) throw new Error(`bootstrap failed:\n${r.stdout}\n${r.stderr}`);
    }
    sshd = spawn('ip', ['netns', 'exec', ns, 'chroot', merged, '/usr/sbin/sshd', '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 20_000;
    while (!options.ready(box)) {
      if (Date.now() > deadline || sshd.exitCode !== null) throw new Error('sshd from the bootstrapped root did not accept a login within 20s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return box;
  } catch (error) {
    box.close();
    throw error;
  }
}

/** A cloud-init `write_files` entry's bytes, decoded as cloud-init does (`b64`, or `gz+b64` for the big scripts). */
export function writeFileBody(file: { path: string; encoding: string; content: string }): Buffer {
  if (file.encoding === 'b64') return Buffer.from(file.content, 'base64');
  if (file.encoding === 'gz+b64') return gunzipSync(Buffer.from(file.content, 'base64'));
  throw new Error(`${file.path}: unexpected encoding ${file.encoding}`);
}

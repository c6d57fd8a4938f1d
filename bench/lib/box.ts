// A benchmark workspace: isolated crabbox config/state, a throwaway box root (testBoxesRoot), a git repo, and a warm lease
// on the `local` provider with the ssh argv that reaches it directly (the floors).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { testBoxesRoot } from '../../src/testing/boxes-root.ts';
import { leaseKeyDir, leaseTarget, rsyncRsh, sshArgv, type SshTarget } from '../../src/ssh/index.ts';
import { timeOk, timeProcess } from './stats.ts';

export const CRABBOX_BIN = fileURLToPath(new URL('../../bin/crabbox', import.meta.url));
/**
 * How the benchmarks start crabbox: under the Node running the bench, like figure 1 does. Spawning bin/crabbox by
 * its shebang would start the system `node` first, which on a machine whose system Node is older than 22.13 re-runs
 * itself under .tools/ (two Node start-ups): that measures the machine's PATH, not Crabbox.
 */
export const CRABBOX_ARGV: readonly string[] = [process.execPath, CRABBOX_BIN];

export interface WarmLease {
  id: string;
  slug: string;
  target: SshTarget;
  port: number;
}

/** One isolated crabbox installation for the benchmarks; `close()` releases every lease and removes every file. */
export class BenchWorkspace {
  readonly root: string;
  readonly boxes: string;
  readonly env: NodeJS.ProcessEnv;
  /** Every lease these benchmarks made (so a test can prove nothing of them is left). */
  readonly leases = new Set<string>();

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'crabbox-bench-'));
    // Under /var/tmp and 0711 so a per-lease user can traverse it.
    this.boxes = testBoxesRoot('crabbox-bench-boxes-').path;
    this.env = { PATH: process.env.PATH, HOME: this.root, XDG_CONFIG_HOME: join(this.root, 'config'), XDG_STATE_HOME: join(this.root, 'state'), LANG: 'C.UTF-8' };
    mkdirSync(join(this.root, 'config', 'crabbox'), { recursive: true });
    this.configure({});
  }

  /** The user config: the `local` provider's work root, plus `extra` top-level settings. */
  configure(extra: Record<string, unknown>): void {
    writeFileSync(join(this.root, 'config', 'crabbox', 'config.yaml'), stringify({ local: { workRoot: this.boxes }, ...extra }));
  }

  /** A committed git repo under the workspace with `files` (path -> content). */
  repo(name: string, files: Iterable<[string, string | Buffer]>): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    for (const [path, content] of files) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.email=bench@crabbox.invalid', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, stdio: 'ignore' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'bench');
    return dir;
  }

  crabbox(args: readonly string[], cwd: string, keep?: number): ReturnType<typeof timeProcess> {
    return timeProcess([...CRABBOX_ARGV, ...args], { env: this.env, cwd, ...(keep === undefined ? {} : { keep }) });
  }

  /** `crabbox run --json ...`: wall time plus the parsed result object. */
  async runJson(args: readonly string[], cwd: string): Promise<{ ms: number; result: RunResult; stderr: string }> {
    const r = await this.crabbox(['run', '--json', ...args], cwd);
    let result: RunResult;
    try {
      result = JSON.parse(r.stdout) as RunResult;
    } catch {
      throw new Error(`crabbox run exited ${r.code} without a JSON result: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (result.lease?.id) this.leases.add(result.lease.id);
    if (r.code !== 0) throw new Error(`crabbox run exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return { ms: r.ms, result, stderr: r.stderr };
  }

  /** `crabbox warmup` (with `args`, e.g. `--provider ssh`) and the direct ssh target of the new lease. */
  async warmup(cwd: string, args: readonly string[] = []): Promise<WarmLease> {
    const r = await timeOk([...CRABBOX_ARGV, 'warmup', '--json', ...args], { env: this.env, cwd });
    const lease = JSON.parse(r.stdout) as { id: string; slug: string; machine: { host: string; ports: number[]; sshUser: string } };
    this.leases.add(lease.id);
    const target = leaseTarget({
      keyDir: leaseKeyDir(join(this.env.XDG_STATE_HOME!, 'crabbox'), lease.id),
      leaseId: lease.id, host: lease.machine.host, ports: lease.machine.ports, user: lease.machine.sshUser, connectTimeoutSeconds: 10,
    });
    return { id: lease.id, slug: lease.slug, target, port: lease.machine.ports[0]! };
  }

  async close(): Promise<void> {
    const list = await this.crabbox(['list', '--json'], this.root);
    try {
      for (const l of (JSON.parse(list.stdout) as { leases: { id: string }[] }).leases) await this.crabbox(['stop', l.id], this.root);
    } catch {
      // Nothing listed; the directories below still go.
    }
    rmSync(this.root, { recursive: true, force: true });
    rmSync(this.boxes, { recursive: true, force: true });
  }
}

export interface RunResult {
  exitCode: number;
  timingsMs: { prepare: number | null; lease: number | null; wait: number | null; sync: number | null; command: number | null; release: number | null; total: number | null };
  syncSkipped: boolean;
  sync?: { state: string; files: number; bytes: number } | null;
  lease: { id: string; fresh: boolean; released: boolean } | null;
}

/** ssh over the lease's ControlMaster (the floor every remote step pays at least once). */
export function sshMaster(lease: WarmLease, command: string): string[] {
  return ['ssh', ...sshArgv(lease.target, lease.port, command)];
}

/** A brand-new ssh connection to the same box: same key and pinned host key, no ControlMaster. */
export function sshFresh(lease: WarmLease, command: string): string[] {
  const argv = sshArgv(lease.target, lease.port, command);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-o' && /^Control(Master|Path|Persist)=/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    out.push(argv[i]!);
  }
  const at = out.indexOf('-T');
  out.splice(at, 0, '-o', 'ControlMaster=no', '-o', 'ControlPath=none');
  return ['ssh', ...out];
}

/** The rsh string rsync uses to reach the lease (the same one crabbox's sync uses). */
export function leaseRsh(lease: WarmLease): string {
  return rsyncRsh(lease.target, lease.port);
}

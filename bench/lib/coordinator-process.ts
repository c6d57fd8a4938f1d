// The coordinator processes the benchmarks measure, and their memory read from outside (/proc/<pid>/status).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CRABBOX_BIN } from './box.ts';

export interface CoordinatorProcess {
  url: string;
  pid: number;
  /** What the process wrote to stderr so far (its start-up line names the store and its durability). */
  stderr(): string;
  stop(): Promise<void>;
}

async function start(argv: string[], env: NodeJS.ProcessEnv): Promise<CoordinatorProcess> {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  // `listening <url>` (serve) or {"url": ...} (the in-process server).
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench coordinator did not start in 30 s')), 30_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l.startsWith('listening ') ? l.slice('listening '.length).trim() : (JSON.parse(l) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench coordinator exited ${code}: ${stderr.trim()}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The real `crabbox coordinator serve` from the built bundle (dist/), as an operator runs it: SQLite in `dir`, the
 * in-memory fake provider (`--providers fake`), in-process host keys, the sweeper on.
 */
export function startServe(dir: string, token: string): Promise<CoordinatorProcess> {
  const env = { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), LANG: 'C.UTF-8', CRABBOX_SHARED_TOKEN: token };
  return start([process.execPath, CRABBOX_BIN, 'coordinator', 'serve', '--port', '0', '--db', join(dir, 'serve.db'), '--providers', 'fake'], env);
}

/** bench/coordinator-server.ts: startCoordinator from the sources with stub host keys (the in-process reference). */
export function startInProcess(dir: string, token: string): Promise<CoordinatorProcess> {
  const server = fileURLToPath(new URL('../coordinator-server.ts', import.meta.url));
  return start([process.execPath, server], { PATH: process.env.PATH, CRABBOX_SHARED_TOKEN: token, CRABBOX_BENCH_DB: join(dir, 'in-process.db') });
}

/** The resident set of a process in MiB, read from outside (VmRSS in /proc/<pid>/status): no GC is forced. */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** Samples a process's RSS every `everyMs` while work runs; `stop()` gives the largest and the last sample. */
export function sampleRss(pid: number, everyMs = 100): { stop(): { max: number; last: number; samples: number } } {
  let max = rssMiB(pid);
  let last = max;
  let samples = 1;
  const timer = setInterval(() => {
    try {
      last = rssMiB(pid);
      max = Math.max(max, last);
      samples++;
    } catch {
      // The process ended; the figures so far stand.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        last = rssMiB(pid);
        max = Math.max(max, last);
        samples++;
      } catch {
        // as above
      }
      return { max, last, samples };
    },
  };
}

// Numbers for the benchmarks: medians, percentiles and wall-clock timing of child processes.
import { spawn } from 'node:child_process';

/** The middle value (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Timed {
  ms: number;
  code: number;
  stdoutBytes: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end, counting (and keeping at most `keep` bytes of) stdout; wall time from spawn to exit. */
export function timeProcess(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; keep?: number } = {}): Promise<Timed> {
  const keep = options.keep ?? 1 << 20;
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let kept = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kept < keep) {
        out.push(chunk.subarray(0, keep - kept));
        kept += Math.min(chunk.length, keep - kept);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ ms: nowMs() - started, code: code ?? (signal ? 128 : 1), stdoutBytes: bytes, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Like timeProcess, but a non-zero exit is an error naming the command and its stderr. */
export async function timeOk(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; keep?: number } = {}): Promise<Timed> {
  const result = await timeProcess(argv, options);
  if (result.code !== 0) throw new Error(`${argv.slice(0, 3).join(' ')}… exited ${result.code}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return result;
}

/**
 * Several measurements taken in turns (a, b, c, a, b, c, …) so drift on a busy machine hits them alike:
 * `warmup` untimed rounds, then the median of each over `runs` rounds.
 */
export async function interleaved(runs: number, warmup: number, measures: readonly (() => Promise<number>)[]): Promise<number[]> {
  const samples = measures.map(() => [] as number[]);
  for (let round = 0; round < warmup + runs; round++) {
    for (const [i, once] of measures.entries()) {
      const ms = await once();
      if (round >= warmup) samples[i]!.push(ms);
    }
  }
  return samples.map((s) => median(s));
}

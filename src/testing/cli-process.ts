import { spawn } from 'node:child_process';
import { BIN, type CliResult } from './cli.ts';

/** A running `bin/crabbox` whose stderr can be watched while it runs (for interactive commands such as login). */
export interface CliProcess {
  /** Resolves with the first stderr match of `pattern` (rejects if the process ends first). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  done: Promise<CliResult>;
  /** Types on the process's stdin (only with `interactive`). */
  write(text: string): void;
  kill(): void;
  /** The process id (to signal it as a terminal or an agent's harness would). */
  pid: number;
}

/** Starts the built CLI as a child process; stderr is watchable, stdin optionally stays open for typing. */
export function startCliProcess(argv: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; stdin?: string; interactive?: boolean; timeoutMs?: number }): CliProcess {
  const child = spawn(process.execPath, [BIN, ...argv], { env: options.env, cwd: options.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const watchers: (() => void)[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err.push(b);
    for (const w of [...watchers]) w();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of [...watchers]) w();
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  if (options.interactive) child.stdin.write(options.stdin ?? '');
  else child.stdin.end(options.stdin ?? '');
  let closed = false;
  void done.then(() => (closed = true));
  return {
    done,
    kill: () => void child.kill('SIGKILL'),
    pid: child.pid!,
    write: (text) => void child.stdin.write(text),
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = Buffer.concat(err).toString().match(pattern);
          if (match) {
            watchers.splice(watchers.indexOf(check), 1);
            clearTimeout(limit);
            resolve(match);
          } else if (closed || child.exitCode !== null) {
            watchers.splice(watchers.indexOf(check), 1);
            clearTimeout(limit);
            reject(new Error(`crabbox exited before printing ${pattern}: ${Buffer.concat(err).toString()}`));
          }
        };
        const limit = setTimeout(() => {
          watchers.splice(watchers.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${pattern}; stderr so far: ${Buffer.concat(err).toString()}`));
        }, timeoutMs);
        watchers.push(check);
        check();
      });
    },
  };
}

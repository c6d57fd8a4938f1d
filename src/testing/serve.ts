import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN } from './cli.ts';

/** A running `crabbox coordinator serve` process. */
export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  stderr(): string;
  exited: Promise<number>;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `crabbox coordinator serve` (the built bin) and waits, bounded, for its `listening <url>` line. */
export async function startServe(env: NodeJS.ProcessEnv, args: string[], options: { port?: number; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'coordinator', 'serve', '--port', String(options.port ?? 0), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coordinator did not start: ${err}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited ${code}: ${err}`));
    });
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

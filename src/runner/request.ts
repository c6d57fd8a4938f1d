/** What a client sends the warm runner: the command line and everything of the process it would have run in. */
export interface RunnerRequest {
  v: 1;
  /** The bundle's build id: a runner from another build refuses (and exits). */
  build: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** When the client process started (epoch ms, on the CLI's clock): run timings count from here. */
  startedAt: number;
}

/** Why a runner refused a request; the client then runs the command itself. */
export type RefusalReason = 'stale' | 'cwd' | 'env' | 'busy' | 'bad_request';

/**
 * The first variable (by name; values are never reported) that differs between two environments and that the
 * runner cannot take on for one run: Node's and libuv's own settings shape the runtime as it starts.
 */
export function runtimeEnvDifference(a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv): string | undefined {
  const shapesRuntime = (name: string): boolean => name.startsWith('NODE_') || name.startsWith('UV_');
  for (const [one, other] of [[a, b], [b, a]] as const) {
    for (const name of Object.keys(one)) {
      if (shapesRuntime(name) && one[name] !== other[name]) return name;
    }
  }
  return undefined;
}

export function parseRequest(text: string): RunnerRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<RunnerRequest>;
  const strings = (xs: unknown): boolean => Array.isArray(xs) && xs.every((x) => typeof x === 'string');
  const env = r.env as unknown;
  if (r.v !== 1 || typeof r.build !== 'string' || !strings(r.argv) || typeof r.cwd !== 'string' || typeof r.startedAt !== 'number') return undefined;
  if (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((x) => typeof x === 'string')) return undefined;
  return r as RunnerRequest;
}

/** The words that are crabbox's own: before `--` (after it, they belong to the remote command). */
export function ownArgs(argv: readonly string[]): readonly string[] {
  return argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
}

/**
 * Whether a command line may be served by the warm runner: `run --id` without a terminal anywhere. At a terminal
 * the CLI runs in-process: `-t`, raw input, window resizes and job control belong to the real process.
 */
export function runnerEligible(argv: readonly string[], env: NodeJS.ProcessEnv, terminals: { stdin: boolean; stdout: boolean; stderr: boolean }): boolean {
  if (env.CRABBOX_RUNNER === 'off' || terminals.stdin || terminals.stdout || terminals.stderr) return false;
  const own = ownArgs(argv);
  if (own.find((a) => !a.startsWith('-')) !== 'run') return false;
  if (!own.some((a) => a === '--id' || a.startsWith('--id='))) return false;
  return !own.some((a) => a === '-t' || a === '--tty' || /^-[^-]*t/.test(a) || a === '-h' || a === '--help');
}

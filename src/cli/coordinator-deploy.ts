import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerSettings } from '../coordinator/entry/worker-config.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';

/**
 * `crabbox coordinator deploy`: checks a wrangler config for the coordinator, stages it with the prebuilt Worker
 * (dist/worker/worker.js, uploaded as it is), checks the Worker secrets it needs are set, and runs `wrangler deploy`.
 * `--dry-run` does all of that but the secrets check and the upload, without network (wrangler's own dry run).
 */

export const WRANGLER_VERSION = '4.116.0';

/** Names that are secrets: refused in `vars` (they would be stored in plain text in the config and the dashboard). */
const SECRET_NAMES = /^(CRABBOX_SHARED_TOKEN|CRABBOX_SESSION_SECRET|CRABBOX_GITHUB_CLIENT_SECRET|HCLOUD_TOKEN|HETZNER_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)$|SECRET|PASSWORD|PRIVATE/;

/** JSON with comments and trailing commas (wrangler.jsonc), comments stripped outside strings. */
export function parseJsonc(text: string, where: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += ch;
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
  } catch (error) {
    throw new CrabboxError('invalid_config', `${where} is not valid JSON with comments: ${(error as Error).message.split('\n')[0]}`);
  }
}

interface WranglerConfig {
  name?: unknown;
  main?: unknown;
  compatibility_flags?: unknown;
  durable_objects?: { bindings?: { name?: unknown; class_name?: unknown }[] };
  migrations?: { new_sqlite_classes?: unknown }[];
  vars?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CheckedConfig {
  config: WranglerConfig;
  /** Worker secrets the config needs: each entry is satisfied by any one of its names. */
  secrets: string[][];
  providers: string[];
}

/** Checks a wrangler config for the coordinator; every problem is one line naming the key and the fix. */
export function checkWranglerConfig(raw: unknown, where: string): CheckedConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CrabboxError('invalid_config', `${where}: expected a JSON object`);
  const config = raw as WranglerConfig;
  if (typeof config.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(config.name)) throw new CrabboxError('invalid_config', `${where}: name must be a Worker name (lowercase letters, digits, -)`);
  if (!Array.isArray(config.compatibility_flags) || !config.compatibility_flags.includes('nodejs_compat')) throw new CrabboxError('invalid_config', `${where}: compatibility_flags must include "nodejs_compat"`);
  if (!config.durable_objects?.bindings?.some((b) => b.name === 'FLEET' && b.class_name === 'Fleet')) throw new CrabboxError('invalid_config', `${where}: durable_objects.bindings must bind FLEET to the class Fleet`, { hint: 'copy that part of deploy/wrangler.jsonc' });
  if (!config.migrations?.some((m) => Array.isArray(m.new_sqlite_classes) && m.new_sqlite_classes.includes('Fleet'))) throw new CrabboxError('invalid_config', `${where}: migrations must create Fleet as a SQLite class (new_sqlite_classes: ["Fleet"])`);
  const vars = config.vars ?? {};
  for (const name of Object.keys(vars)) {
    if (SECRET_NAMES.test(name)) throw new CrabboxError('invalid_config', `${where}: vars.${name} is a secret; vars are stored in plain text`, { hint: `remove it and run \`wrangler secret put ${name}\`` });
  }
  // The same validation the Worker runs at start-up, with stand-ins for the secrets it checks the presence of.
  let settings;
  try {
    settings = workerSettings({ ...vars, CRABBOX_SHARED_TOKEN: 'x'.repeat(32), CRABBOX_SESSION_SECRET: 'y'.repeat(40), CRABBOX_GITHUB_CLIENT_SECRET: 'z'.repeat(20) });
  } catch (error) {
    if (isCrabboxError(error)) throw new CrabboxError('invalid_config', `${where}: ${error.message}`, error.hint ? { hint: error.hint } : {});
    throw error;
  }
  const secrets: string[][] = [['CRABBOX_SHARED_TOKEN', 'CRABBOX_SESSION_SECRET']];
  if (settings.config.login.github) secrets.push(['CRABBOX_GITHUB_CLIENT_SECRET'], ['CRABBOX_SESSION_SECRET']);
  if (settings.providers.includes('hetzner')) secrets.push(['HCLOUD_TOKEN', 'HETZNER_TOKEN']);
  if (settings.providers.includes('aws')) secrets.push(['AWS_ACCESS_KEY_ID'], ['AWS_SECRET_ACCESS_KEY']);
  return { config, secrets, providers: settings.providers };
}

/** The package root (the directory holding crabbox's package.json), from the sources or the bundle. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'crabbox'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new CrabboxError('unavailable', 'cannot find the crabbox package directory');
    dir = parent;
  }
}

/** The prebuilt Worker bundle. */
export function workerBundle(): string {
  const path = join(packageRoot(), 'dist', 'worker', 'worker.js');
  if (!existsSync(path)) throw new CrabboxError('unavailable', `the Worker bundle ${path} is missing`, { hint: 'run `npm run build` in the crabbox checkout' });
  return path;
}

/** wrangler's entry script: crabbox's own (a dev dependency), else one installed next to the project. */
function wranglerBin(cwd: string): string {
  for (const base of [join(packageRoot(), 'package.json'), join(cwd, 'package.json')]) {
    try {
      return join(dirname(createRequire(base).resolve('wrangler/package.json')), 'bin', 'wrangler.js');
    } catch {
      // not here
    }
  }
  throw new CrabboxError('unavailable', 'wrangler is not installed', { hint: `npm install --save-dev --save-exact wrangler@${WRANGLER_VERSION} in this directory, then run the command again` });
}

export type Runner = (argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined }) => Promise<{ code: number; stdout: string; stderr: string }>;

const runNode: Runner = (argv, options) =>
  new Promise((resolvePromise, reject) => {
    // An abort (Ctrl-C) stops wrangler and waits for it, so nothing writes into the staging directory after it is removed.
    const child = spawn(process.execPath, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal, killSignal: 'SIGTERM' as const } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (error) => {
      if (error.name !== 'AbortError') reject(error);
    });
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });

export interface DeployResult {
  staged: string;
  bundleBytes: number;
  providers: string[];
  secrets: string[][];
  missingSecrets: string[][];
  dryRun: boolean;
  wranglerOutput: string;
}

export async function deployCoordinator(options: { config: string; dryRun: boolean; outdir?: string | undefined; cwd: string; env: NodeJS.ProcessEnv; run?: Runner }): Promise<DeployResult> {
  const path = resolve(options.cwd, options.config);
  if (!existsSync(path)) throw new CrabboxError('invalid_config', `no wrangler config at ${path}`, { hint: 'copy deploy/wrangler.jsonc from the crabbox package and fill it in (docs/cloudflare.md)' });
  const checked = checkWranglerConfig(parseJsonc(readFileSync(path, 'utf8'), options.config), options.config);
  const bundle = workerBundle();
  // A temporary staging directory is removed when wrangler is done, whatever happened; --outdir is kept for the user.
  const temporary = !options.outdir;
  const staged = options.outdir ? resolve(options.cwd, options.outdir) : mkdtempSync(join(tmpdir(), 'crabbox-deploy-'));
  // Ctrl-C or SIGTERM stops wrangler and ends the command as interrupted, through the finally below (Node's default
  // would exit at once and leave the staging directory behind).
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await stageAndDeploy({ ...options, signal: interrupt.signal }, checked, bundle, staged);
    if (interrupt.signal.aborted) throw interrupted();
    return result;
  } catch (error) {
    throw interrupt.signal.aborted ? interrupted() : error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (temporary) rmSync(staged, { recursive: true, force: true });
  }
}

const interrupted = (): CrabboxError => new CrabboxError('interrupted', 'coordinator deploy interrupted; wrangler was stopped', { hint: 'run the command again: an interrupted upload leaves the Worker as it was or fully updated' });

async function stageAndDeploy(options: { dryRun: boolean; cwd: string; env: NodeJS.ProcessEnv; run?: Runner | undefined; signal: AbortSignal }, checked: CheckedConfig, bundle: string, staged: string): Promise<DeployResult> {
  mkdirSync(staged, { recursive: true });
  copyFileSync(bundle, join(staged, 'worker.js'));
  const { main: _main, ...rest } = checked.config;
  writeFileSync(join(staged, 'wrangler.json'), `${JSON.stringify({ ...rest, main: 'worker.js', no_bundle: true }, null, 2)}\n`);
  const bin = wranglerBin(options.cwd);
  const run = options.run ?? runNode;
  const env = { ...options.env, WRANGLER_SEND_METRICS: 'false' };
  let missingSecrets: string[][] = [];
  if (!options.dryRun) {
    const listed = await run([bin, 'secret', 'list', '--config', join(staged, 'wrangler.json'), '--format', 'json'], { cwd: staged, env, signal: options.signal });
    if (listed.code !== 0) throw new CrabboxError('unavailable', `wrangler secret list failed: ${lastLine(listed.stderr || listed.stdout)}`, { hint: 'run `wrangler login` (or set CLOUDFLARE_API_TOKEN), then try again' });
    let names: string[];
    try {
      names = (JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name);
    } catch {
      names = [];
    }
    missingSecrets = checked.secrets.filter((any) => !any.some((n) => names.includes(n)));
    if (missingSecrets.length > 0) {
      throw new CrabboxError('invalid_config', `the Worker ${String(checked.config.name)} is missing secrets: ${missingSecrets.map((s) => s.join(' or ')).join(', ')}`, { hint: `set each with \`wrangler secret put ${missingSecrets[0]![0]}\` (docs/cloudflare.md lists them)` });
    }
  }
  const deploy = await run([bin, 'deploy', '--config', join(staged, 'wrangler.json'), ...(options.dryRun ? ['--dry-run', '--outdir', join(staged, 'out')] : [])], { cwd: staged, env, signal: options.signal });
  if (deploy.code !== 0) throw new CrabboxError(options.dryRun ? 'invalid_config' : 'unavailable', `wrangler deploy failed: ${lastLine(deploy.stderr || deploy.stdout)}`);
  return { staged, bundleBytes: statSync(bundle).size, providers: checked.providers, secrets: checked.secrets, missingSecrets, dryRun: options.dryRun, wranglerOutput: deploy.stdout };
}

/** wrangler's error line (its ✘ [ERROR] marker dropped), else its last line. The caller's prefix must not read as `secret: value` to the redactor. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()).filter(Boolean);
  return (lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? 'no output').replace(/^✘ \[ERROR\] /, '').slice(0, 300);
}

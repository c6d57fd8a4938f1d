import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { userConfigPath, stateDir } from '../config/paths.ts';
import { loadConfig } from '../config/load.ts';
import { findSshd } from '../providers/local/sshd.ts';
import { isCrabboxError } from '../domain/errors.ts';

/** One doctor finding: what was checked, whether it passed, and how to fix it when not. */
export interface Check {
  name: string;
  ok: boolean;
  /** `tool` problems stop crabbox working; `config` problems are unsafe or invalid settings; `coordinator` is the shared broker. */
  kind: 'tool' | 'config' | 'runtime' | 'coordinator';
  detail: string;
  fix?: string | undefined;
  /** Passed, but worth a look (shown as `warn`; does not change the exit code). */
  warning?: boolean | undefined;
}

/** Finds a program on PATH (plus the sbin dirs, where sshd lives). */
export function which(program: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  return dirs.map((d) => join(d, program)).find((p) => existsSync(p));
}

function toolCheck(name: string, found: string | undefined, fix: string): Check {
  return found ? { name, ok: true, kind: 'tool', detail: found } : { name, ok: false, kind: 'tool', detail: 'not found', fix };
}

function modeCheck(name: string, path: string, max: number): Check | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  const octal = (m: number): string => `0${m.toString(8)}`;
  if ((mode & ~max) === 0) return { name, ok: true, kind: 'config', detail: `${path} is ${octal(mode)}` };
  return { name, ok: false, kind: 'config', detail: `${path} is ${octal(mode)}, broader than ${octal(max)}`, fix: `chmod ${octal(max).slice(1)} ${path}` };
}

/** Every local prerequisite crabbox needs, one check each. */
export function runChecks(options: { env: NodeJS.ProcessEnv; cwd: string; nodeVersion?: string }): Check[] {
  const { env } = options;
  const nodeVersion = options.nodeVersion ?? process.versions.node;
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  const apt = 'apt-get install -y';
  const checks: Check[] = [
    major > 22 || (major === 22 && minor >= 13)
      ? { name: 'node', ok: true, kind: 'runtime', detail: `v${nodeVersion}` }
      : { name: 'node', ok: false, kind: 'runtime', detail: `v${nodeVersion} is older than 22.13`, fix: 'run `npm run setup` or install Node 22.13+' },
    toolCheck('ssh', which('ssh', env), `${apt} openssh-client`),
    toolCheck('ssh-keygen', which('ssh-keygen', env), `${apt} openssh-client`),
    toolCheck('sshd', findSshd(env), `${apt} openssh-server (only the binary is used; the system sshd may stay off)`),
    toolCheck('rsync', which('rsync', env), `${apt} rsync`),
    toolCheck('git', which('git', env), `${apt} git`),
  ];
  const configFile = userConfigPath(env);
  for (const check of [modeCheck('config dir', dirname(configFile), 0o700), modeCheck('config file', configFile, 0o600), modeCheck('state dir', stateDir(env), 0o700)]) {
    if (check) checks.push(check);
  }
  try {
    loadConfig({ env, cwd: options.cwd });
    checks.push({ name: 'config', ok: true, kind: 'config', detail: 'valid' });
  } catch (error) {
    checks.push({ name: 'config', ok: false, kind: 'config', detail: isCrabboxError(error) ? error.message : String(error), fix: 'edit the file named above (see docs/config.md)' });
  }
  return checks;
}

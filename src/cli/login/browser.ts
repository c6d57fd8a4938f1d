import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The platform's "open this URL" command when it is on PATH: open (macOS), else xdg-open. */
export function browserOpener(env: NodeJS.ProcessEnv, platform = process.platform): string | undefined {
  const name = platform === 'darwin' ? 'open' : 'xdg-open';
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Opens `url` in the browser without waiting; false when no opener exists or it could not start. */
export function openBrowser(url: string, env: NodeJS.ProcessEnv): boolean {
  const opener = browserOpener(env);
  if (!opener) return false;
  try {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

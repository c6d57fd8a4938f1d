import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { basename, delimiter, join } from 'node:path';

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

/** Whether a browser could show up here: macOS always; elsewhere only with a graphical session (X11 or Wayland). */
export function hasDisplay(env: NodeJS.ProcessEnv, platform = process.platform): boolean {
  return platform === 'darwin' || platform === 'win32' || !!env.DISPLAY || !!env.WAYLAND_DISPLAY;
}

/**
 * Opens `url` in the browser without waiting; false when there is no display, no opener, or it could not start.
 * An opener that starts and then fails (xdg-open finds no browser) is reported later through `onFail`.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv, onFail: (why: string) => void = () => undefined, platform = process.platform): boolean {
  if (!hasDisplay(env, platform)) return false;
  const opener = browserOpener(env, platform);
  if (!opener) return false;
  try {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore', env });
    child.on('error', (error) => onFail(error.message));
    child.on('exit', (code, signal) => {
      if (code !== 0) onFail(signal ? `${basename(opener)} was killed by ${signal}` : `${basename(opener)} exited ${code}`);
    });
    child.unref();
    return true;
  } catch {
    return false;
  }
}

import { homedir } from 'node:os';
import { join } from 'node:path';

export interface PathEnv {
  XDG_CONFIG_HOME?: string | undefined;
  XDG_STATE_HOME?: string | undefined;
  CRABBOX_CONFIG?: string | undefined;
  CRABBOX_STATE_DIR?: string | undefined;
  HOME?: string | undefined;
}

const home = (env: PathEnv): string => env.HOME || homedir();

/** The user config file: $CRABBOX_CONFIG, else $XDG_CONFIG_HOME/crabbox/config.yaml. */
export function userConfigPath(env: PathEnv): string {
  if (env.CRABBOX_CONFIG) return env.CRABBOX_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'crabbox', 'config.yaml');
}

/** Per-user state (lease keys, local machines, run history): $CRABBOX_STATE_DIR, else $XDG_STATE_HOME/crabbox. */
export function stateDir(env: PathEnv): string {
  if (env.CRABBOX_STATE_DIR) return env.CRABBOX_STATE_DIR;
  return join(env.XDG_STATE_HOME || join(home(env), '.local', 'state'), 'crabbox');
}

export const REPO_CONFIG_FILE = '.crabbox.yaml';

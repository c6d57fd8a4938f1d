import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { userConfigPath, type PathEnv } from '../config/paths.ts';

/** The coordinator's limits (src/coordinator/config.ts): a shared token of 16+ characters, a session secret of 32+, different. */
const MIN_SHARED = 16;
const MIN_SESSION = 32;

export interface SecretFiles {
  dir: string;
  sharedTokenFile: string;
  sessionSecretFile: string;
  /** Whether the files were written now (false: existing valid ones were kept). */
  created: boolean;
}

/** The default home of the coordinator's secret files: beside the user config, in `coordinator/`. */
export function defaultSecretsDir(env: PathEnv): string {
  return join(dirname(userConfigPath(env)), 'coordinator');
}

function checkExisting(shared: string, session: string): void {
  const read = (file: string): string => {
    if ((statSync(file).mode & 0o077) !== 0) throw new CrabboxError('invalid_config', `${file} is readable by others`, { hint: `chmod 600 ${file}, or pass --force for new secrets` });
    return readFileSync(file, 'utf8').trim();
  };
  const token = read(shared);
  const secret = read(session);
  if (token.length < MIN_SHARED || secret.length < MIN_SESSION || token === secret) {
    throw new CrabboxError('invalid_config', `the secrets in ${dirname(shared)} do not meet the coordinator's rules (shared token 16+ characters, session secret 32+, different)`, { hint: 'pass --force to replace them' });
  }
}

/**
 * Creates the coordinator's two secrets as 0600 files in a 0700 directory: a shared operator token (`cbxs_` + 256 random
 * bits) and a different session secret (384 random bits). Existing files are kept (and checked), never overwritten
 * without `force`; only one of the two existing is refused. The values are never returned or printed.
 */
export function initCoordinatorSecrets(options: { dir: string; force?: boolean | undefined }): SecretFiles {
  const dir = resolve(options.dir);
  const sharedTokenFile = join(dir, 'shared-token');
  const sessionSecretFile = join(dir, 'session-secret');
  const have = [existsSync(sharedTokenFile), existsSync(sessionSecretFile)];
  if (!options.force && have[0] && have[1]) {
    checkExisting(sharedTokenFile, sessionSecretFile);
    return { dir, sharedTokenFile, sessionSecretFile, created: false };
  }
  if (!options.force && (have[0] || have[1])) {
    throw new CrabboxError('bad_request', `refusing to overwrite ${have[0] ? sharedTokenFile : sessionSecretFile}; only one of the two secret files exists`, { hint: 'pass --force to replace both' });
  }
  const token = `cbxs_${randomBytes(32).toString('base64url')}`;
  const secret = randomBytes(48).toString('base64url');
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
    writeFileAtomic(sharedTokenFile, `${token}\n`);
    writeFileAtomic(sessionSecretFile, `${secret}\n`);
  } catch (error) {
    throw new CrabboxError('invalid_config', `cannot write the secret files in ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { dir, sharedTokenFile, sessionSecretFile, created: true };
}

/** A word for `sh`, single-quoted. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { Document, isMap, parseDocument } from 'yaml';
import { CrabboxError } from '../domain/errors.ts';
import { userConfigPath, type PathEnv } from './paths.ts';

/**
 * Edits the user config file in place: other keys and comments are preserved, the directory is 0700, the file 0600
 * (it may hold a coordinator token), and the write is atomic (temp file in the same directory, fsync, rename).
 */
export function updateUserConfig(env: PathEnv, edit: (doc: Document) => void): string {
  const path = userConfigPath(env);
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CrabboxError('invalid_config', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const doc = text.trim() === '' ? new Document({}) : parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new CrabboxError('invalid_config', `${path} is not a valid YAML mapping; fix or remove it first`);
  edit(doc);
  writeAtomic(path, doc.toString());
  return path;
}

/** Writes `text` to `path` as 0600 via a temp file and rename; a missing directory is created 0700. */
export function writeAtomic(path: string, text: string): void {
  // Only directories we create get 0700; an existing directory (maybe $HOME or /tmp via CRABBOX_CONFIG) is left alone.
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomic(path, text);
  } catch (error) {
    throw new CrabboxError('invalid_config', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

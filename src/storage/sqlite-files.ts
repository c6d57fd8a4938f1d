import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';

/**
 * The coordinator's SQLite database holds every owner's commands, log tails and host keys, so its files are the
 * coordinator user's alone: the database, its `-wal`, `-shm` and `-journal` are 0600 and owned by that user, and the
 * directory holding them is not writable by anyone else (who could otherwise swap or pre-create those files).
 * SQLite creates `-wal` and `-shm` with the database file's own mode, so a 0600 database keeps them 0600 at any umask.
 */

export const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export interface SqliteFileFindings {
  /** Why the database must not be opened as it is (a directory others can write, a file someone else owns, a link). */
  refuse: string[];
  /** Files readable or writable by others, with their mode: opening fixes them to 0600. */
  loose: { file: string; mode: number }[];
  /** Not dangerous but worth a line: a directory others can list. */
  warn: string[];
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
const euid = (): number => process.geteuid?.() ?? 0;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Looks at the database directory and files without changing anything (doctor, and before serve opens them). */
export function inspectSqliteFiles(path: string): SqliteFileFindings {
  const findings: SqliteFileFindings = { refuse: [], loose: [], warn: [] };
  const file = resolve(path);
  const dir = dirname(file);
  let info: Stats;
  try {
    info = statSync(dir);
  } catch {
    return findings; // a missing directory is created private on open
  }
  if (!info.isDirectory()) {
    findings.refuse.push(`${dir} is not a directory`);
    return findings;
  }
  const me = euid();
  if (info.uid !== me && info.uid !== 0) findings.refuse.push(`the database directory ${dir} belongs to uid ${info.uid}, who could replace the database files (fix: keep it in a directory owned by the coordinator's user, e.g. chown ${me} ${dir})`);
  if ((info.mode & 0o022) !== 0) findings.refuse.push(`the database directory ${dir} is ${octal(info.mode)}: others can create or replace the database files in it (fix: chmod 700 ${dir}, or use --db in a private directory)`);
  else if ((info.mode & 0o055) !== 0) findings.warn.push(`the database directory ${dir} is ${octal(info.mode)}: others can see which files it holds (the files themselves are 0600; fix: chmod 700 ${dir})`);
  for (const name of [file, ...SIDE_FILES.map((suffix) => `${file}${suffix}`)]) {
    const st = lstatOrUndefined(name);
    if (!st) continue;
    if (st.isSymbolicLink()) findings.refuse.push(`${name} is a symbolic link; the database files must be plain files`);
    else if (!st.isFile()) findings.refuse.push(`${name} is not a regular file`);
    else if (st.uid !== me) findings.refuse.push(`${name} belongs to uid ${st.uid}, not to the coordinator's user (uid ${me})`);
    else if ((st.mode & 0o077) !== 0) findings.loose.push({ file: name, mode: st.mode & 0o777 });
  }
  return findings;
}

/** Sets a file to 0600 through a descriptor opened without following links (the file was checked to be ours). */
function chmodPrivate(file: string): void {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the database's place private before SQLite opens it: creates a missing directory 0700, refuses a directory
 * others can write or files that are links or someone else's, fixes loose file modes to 0600, and creates a missing
 * database file 0600 (so SQLite's side files follow it). Returns warnings worth logging (what was fixed, a listable
 * directory).
 */
export function secureSqliteFiles(path: string): string[] {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const findings = inspectSqliteFiles(file);
  if (findings.refuse.length > 0) {
    throw new CrabboxError('invalid_config', `refusing to open the coordinator database ${file}: ${findings.refuse[0]}`, { hint: 'the database holds every owner\'s commands, logs and host keys (docs/security.md, finding 5)' });
  }
  const warnings = [...findings.warn];
  for (const { file: loose, mode } of findings.loose) {
    chmodPrivate(loose);
    warnings.push(`${loose} was ${octal(mode)}; set to 0600`);
  }
  try {
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      fchmodSync(fd, 0o600); // a umask such as 0277 would otherwise leave it unwritable
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return warnings;
}

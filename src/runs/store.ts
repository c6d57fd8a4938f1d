import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { RUN_ID_PATTERN } from '../domain/ids.ts';
import { redactValue } from '../redact/redact.ts';
import { RUN_STATES, type RunRecord, type RunState } from './record.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { ownerGone } from './owner-process.ts';

/**
 * Run records kept on this machine, for direct mode (no coordinator): `<stateDir>/runs/<start time>_<run-id>.json`,
 * one file per run, written atomically with mode 0600 in a 0700 folder, redacted before writing, and bounded to `historyLimit`
 * runs (the oldest are pruned).
 */
export interface LocalRunStoreOptions {
  /** The crabbox state directory; records live in its `runs/` folder. */
  stateDir: string;
  historyLimit: number;
  clock?: Clock;
}

export interface RunQuery {
  leaseId?: string | undefined;
  slug?: string | undefined;
  state?: RunState | undefined;
  limit?: number | undefined;
}

/** A stored record larger than this is not read (the writer never produces one; it can only be tampering). */
const MAX_RECORD_BYTES = 32 * 1024 * 1024;

/** `20260101T120000123Z_run_0123456789ab.json`: sorting names sorts by start time, with no file read. */
const FILE_NAME = /^\d{8}T\d{9}Z_(run_[0-9a-f]{12})\.json$/;

function fileName(startedMs: number, id: string): string {
  return `${new Date(startedMs).toISOString().replace(/[-:.]/g, '')}_${id}.json`;
}

/** Checks a run id as typed by a user before it reaches a path: one-line usage error when malformed. */
export function parseRunId(input: string): string {
  const value = input.trim().toLowerCase();
  if (!RUN_ID_PATTERN.test(value)) {
    throw new CrabboxError('bad_request', `${JSON.stringify(input.slice(0, 80))} is not a run id (run_ + 12 hex)`, { hint: 'run `crabbox history` to see your runs' });
  }
  return value;
}

export class LocalRunStore {
  readonly dir: string;
  readonly #historyLimit: number;
  readonly #clock: Clock;

  constructor(options: LocalRunStoreOptions) {
    this.dir = join(options.stateDir, 'runs');
    this.#historyLimit = Math.max(1, options.historyLimit);
    this.#clock = options.clock ?? systemClock;
  }

  /** Writes (creates or replaces) a record, redacted, then prunes past the history limit. */
  save(record: RunRecord): void {
    const id = parseRunId(record.id);
    const started = Date.parse(record.startedAt);
    if (!Number.isFinite(started)) throw new CrabboxError('invalid_input', `run ${id}: startedAt ${JSON.stringify(String(record.startedAt).slice(0, 40))} is not a time`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const body = `${JSON.stringify(redactValue(record), null, 2)}\n`;
    // History, not state anything depends on: no fsync on the run's critical path. A record a power cut leaves
    // empty or torn reads as absent (see #read).
    writeFileAtomic(join(this.dir, fileName(started, id)), body, { durable: false });
    this.prune(id);
  }

  /** Reads one record; a malformed id is a usage error (64), an unknown one is not found (66). */
  get(runId: string): RunRecord {
    const id = parseRunId(runId);
    const name = this.#files().find((f) => f.id === id)?.name;
    const record = name === undefined ? undefined : this.#read(join(this.dir, name));
    if (!record || record.id !== id) throw new CrabboxError('run_not_found', `run ${id} not found in local history`, { hint: 'run `crabbox history` to see your runs' });
    return record;
  }

  /** Records newest first, filtered. Reads files only until `limit` records match. */
  list(query: RunQuery = {}): RunRecord[] {
    const records: RunRecord[] = [];
    for (const file of this.#files().reverse()) {
      if (query.limit !== undefined && records.length >= query.limit) break;
      const r = this.#read(join(this.dir, file.name));
      if (!r || r.id !== file.id) continue;
      if ((!query.leaseId || r.leaseId === query.leaseId) && (!query.slug || r.slug === query.slug) && (!query.state || r.state === query.state)) records.push(r);
    }
    return records;
  }

  /** Removes the oldest records past the history limit (never `keep`) and stale temporary files; reads no record. */
  prune(keep?: string): void {
    for (const name of this.#names()) {
      if (!name.endsWith('.tmp')) continue;
      const path = join(this.dir, name);
      try {
        if (this.#clock.now() - statSync(path).mtimeMs > 60 * 60 * 1000) rmSync(path, { force: true });
      } catch {
        // Gone already.
      }
    }
    const files = this.#files();
    const excess = files.length - this.#historyLimit;
    if (excess <= 0) return;
    for (const file of files.filter((f) => f.id !== keep).slice(0, excess)) rmSync(join(this.dir, file.name), { force: true });
  }

  #names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Record files, oldest first (their names start with the start time). */
  #files(): { name: string; id: string }[] {
    const files: { name: string; id: string }[] = [];
    for (const name of this.#names()) {
      const m = FILE_NAME.exec(name);
      if (m) files.push({ name, id: m[1]! });
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Reads a record file; missing, oversized or malformed files read as absent. */
  #read(path: string): RunRecord | undefined {
    try {
      if (statSync(path).size > MAX_RECORD_BYTES) return undefined;
      const data = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
      if (!data || typeof data !== 'object' || typeof data.id !== 'string' || typeof data.startedAt !== 'string' || !(RUN_STATES as readonly string[]).includes(data.state)) return undefined;
      // A run whose crabbox process died (crash, kill -9) can never finish its record: show it as abandoned.
      if (data.state === 'running' && data.owner && typeof data.owner.pid === 'number' && ownerGone(data.owner)) return { ...data, state: 'abandoned' };
      return data;
    } catch {
      return undefined;
    }
  }
}

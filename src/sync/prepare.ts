import { markUsedAndPrune, saveCache } from './cache.ts';
import { enforceGuardrails, type GuardrailLimits } from './guardrails.ts';
import { scanCheckout, stateEntries, trackedOf, type CheckoutReads, type Scan } from './scan.ts';

export interface SyncSettings extends GuardrailLimits {
  exclude: readonly string[];
  deleteLimit: number;
  timeoutSeconds: number;
}

/** What the CLI offers the box: the tree it wants (fingerprint) and the change from a tree the box may have (base). */
export interface SyncOffer {
  fingerprint: string;
  /** The fingerprint `send` and `remove` are relative to; empty when there is no earlier sync to build on. */
  base: string;
  /** Paths to send if the box is at `base`: added or changed since (NUL list, byte-sorted). */
  send: Buffer;
  /** Paths that left the manifest since `base` (NUL list, byte-sorted). */
  remove: Buffer;
}

export interface PreparedSync {
  repoRoot: string;
  offer: SyncOffer;
  /** Files and bytes in the manifest (the guardrails' figures). */
  files: number;
  bytes: number;
  warnings: string[];
  /** -1 when mass deletes are allowed. */
  deleteLimit: number;
  timeoutSeconds: number;
  /** `incremental`: from the cache and git's change lists; `full`: every file listed. */
  scan: Scan['mode'];
  /** The whole manifest as a NUL list (for a box that has no usable earlier sync). */
  fullList(): Promise<Buffer>;
  /** True when `path` is in the manifest (the box may name files it wants again; nothing else is sent). */
  has(path: string): Promise<boolean>;
  /** Records this state as the one the box now has; call once the box confirmed it (synced or already in sync). */
  commit(): Promise<void>;
}

/** The sync side of a run: settings known at once, and the scan, which may still be running when the exec starts. */
export interface RemoteSync {
  repoRoot: string;
  timeoutSeconds: number;
  prepared: Promise<PreparedSync>;
}

export interface PrepareOptions {
  repoRoot: string;
  settings: SyncSettings;
  /** The checkout's sync cache (src/sync/cache.ts); undefined: none, every scan lists every file. */
  cacheDir?: string | undefined;
  allowLarge?: boolean | undefined;
  allowMassDelete?: boolean | undefined;
  /** git's answers, started before the settings were known (readCheckout with the same repoRoot and cacheDir). */
  reads?: Promise<CheckoutReads> | undefined;
}

/** Starts the scan for a remote run; its failure (a guardrail, git) surfaces through `prepared`. */
export function startSync(options: PrepareOptions): RemoteSync {
  const prepared = prepareSync(options);
  prepared.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return { repoRoot: options.repoRoot, timeoutSeconds: options.settings.timeoutSeconds, prepared };
}

const nulList = (paths: readonly string[]): Buffer => Buffer.from(paths.map((p) => `${p}\0`).join(''), 'utf8');

/** Everything the local side computes before the box answers: the scan, the guardrail verdict and the offer. */
export async function prepareSync(options: PrepareOptions): Promise<PreparedSync> {
  const { settings, cacheDir } = options;
  const scan = await scanCheckout({ repoRoot: options.repoRoot, exclude: settings.exclude, cacheDir }, options.reads);
  const { state } = scan;
  const warnings = enforceGuardrails({ files: state.files, bytes: state.bytes }, settings, options.allowLarge ?? false);
  let committed: Promise<void> | undefined;
  let full: Promise<Buffer> | undefined;
  return {
    repoRoot: options.repoRoot,
    offer: { fingerprint: state.fingerprint, base: scan.base ?? '', send: nulList(scan.send), remove: nulList(scan.remove) },
    files: state.files,
    bytes: state.bytes,
    warnings,
    deleteLimit: options.allowMassDelete ? -1 : settings.deleteLimit,
    timeoutSeconds: settings.timeoutSeconds,
    scan: scan.mode,
    fullList() {
      full ??= (async () => {
        const parts: string[] = [];
        for await (const e of stateEntries(state)) parts.push(`${e.path}\0`);
        return Buffer.from(parts.join(''), 'utf8');
      })();
      return full;
    },
    async has(path) {
      const d = state.dirty.get(path);
      if (d) return d.now !== null;
      const record = (await trackedOf(state)).get(path);
      return record?.flag === '-';
    },
    commit() {
      if (!cacheDir) return Promise.resolve();
      committed ??= (async () => {
        markUsedAndPrune(cacheDir);
        if (!scan.changed) return;
        const tracked = state.trackedFile ?? (await trackedOf(state)).buf;
        saveCache(cacheDir, {
          repoRoot: state.repoRoot, settingsKey: state.settingsKey, indexPath: state.indexPath, indexSig: state.indexSig,
          oidLength: state.oidLength, always: state.always, dirty: [...state.dirty], fingerprint: state.fingerprint,
          files: state.files, bytes: state.bytes,
        }, tracked);
      })();
      return committed;
    },
  };
}

import { checkGuardrails, type GuardrailLimits, type GuardrailVerdict } from './guardrails.ts';
import type { Manifest } from './manifest.ts';

export interface SyncPlan {
  repoRoot: string;
  files: number;
  bytes: number;
  tracked: number;
  untracked: number;
  symlinks: number;
  excluded: number;
  /** Submodules and nested repositories: not synced. */
  skippedDirectories: string[];
  /** Tracked files missing locally: deleted on the box by the next sync. */
  deletions: string[];
  biggestFiles: { path: string; bytes: number }[];
  biggestFolders: { path: string; bytes: number; files: number }[];
  guardrails: GuardrailVerdict;
  excludes: Manifest['rules']['patterns'];
}

/** The top folder a path counts towards: `.` for root files, else the first one or two segments. */
function folderOf(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) return '.';
  return parts.length === 2 ? parts[0]! : `${parts[0]}/${parts[1]}`;
}

/** Summarises a manifest for `crabbox sync-plan`: what a sync would send and delete, and the guardrail verdict. */
export function syncPlan(manifest: Manifest, limits: GuardrailLimits, limit: number): SyncPlan {
  const folders = new Map<string, { bytes: number; files: number }>();
  for (const e of manifest.entries) {
    const key = folderOf(e.path);
    const f = folders.get(key) ?? { bytes: 0, files: 0 };
    f.bytes += e.size;
    f.files += 1;
    folders.set(key, f);
  }
  const bySize = <T extends { bytes: number; path: string }>(a: T, b: T): number => b.bytes - a.bytes || (a.path < b.path ? -1 : 1);
  return {
    repoRoot: manifest.repoRoot,
    files: manifest.entries.length,
    bytes: manifest.bytes,
    tracked: manifest.entries.filter((e) => e.tracked).length,
    untracked: manifest.entries.filter((e) => !e.tracked).length,
    symlinks: manifest.entries.filter((e) => e.kind === 'symlink').length,
    excluded: manifest.skipped.excluded,
    skippedDirectories: manifest.skipped.directories,
    deletions: manifest.deletedTracked,
    biggestFiles: manifest.entries.map((e) => ({ path: e.path, bytes: e.size })).sort(bySize).slice(0, limit),
    biggestFolders: [...folders].map(([path, f]) => ({ path, ...f })).sort(bySize).slice(0, limit),
    guardrails: checkGuardrails({ files: manifest.entries.length, bytes: manifest.bytes }, limits),
    excludes: manifest.rules.patterns,
  };
}

import { computeFingerprint } from './fingerprint.ts';
import { gitHeadState } from './git.ts';
import { enforceGuardrails, type GuardrailLimits } from './guardrails.ts';
import { buildManifest, manifestList, type Manifest } from './manifest.ts';

export interface SyncSettings extends GuardrailLimits {
  exclude: readonly string[];
  deleteLimit: number;
  timeoutSeconds: number;
}

export interface PreparedSync {
  manifest: Manifest;
  list: Buffer;
  fingerprint: string;
  warnings: string[];
  /** -1 when mass deletes are allowed. */
  deleteLimit: number;
  timeoutSeconds: number;
  repoRoot: string;
}

/** Everything the local side computes before contacting the box: manifest, guardrail verdict, fingerprint. */
export async function prepareSync(options: { repoRoot: string; settings: SyncSettings; allowLarge?: boolean; allowMassDelete?: boolean }): Promise<PreparedSync> {
  const { settings } = options;
  // HEAD and its changed paths do not depend on the manifest: git answers both at once.
  const headState = gitHeadState(options.repoRoot);
  headState.catch(() => undefined); // awaited below unless the manifest fails first
  const manifest = await buildManifest({ repoRoot: options.repoRoot, exclude: settings.exclude });
  const warnings = enforceGuardrails({ files: manifest.entries.length, bytes: manifest.bytes }, settings, options.allowLarge ?? false);
  const fingerprint = await computeFingerprint(manifest, { format: 1 }, headState);
  return {
    manifest,
    list: manifestList(manifest),
    fingerprint,
    warnings,
    deleteLimit: options.allowMassDelete ? -1 : settings.deleteLimit,
    timeoutSeconds: settings.timeoutSeconds,
    repoRoot: options.repoRoot,
  };
}

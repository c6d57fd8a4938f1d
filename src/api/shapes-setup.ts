import * as z from 'zod';
import { count, document, schemaId } from './shapes.ts';

/**
 * The `--json` documents of the setup and housekeeping commands (cleanup, sync-plan, config, doctor, version,
 * logout, coordinator, init) and the error document every command prints on failure. Same rules as shapes.ts.
 */

/** `{error, message, hint?, exitCode}`: what any command prints on stdout with `--json` when it fails. */
export const errorJson = document('error', {
  error: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
  exitCode: z.number().int().min(1).max(255),
});
export type ErrorJson = z.infer<typeof errorJson>;

const cleanupEntry = z.strictObject({ id: z.string(), slug: z.string(), state: z.string(), reason: z.string() });
const dangling = z.strictObject({ kind: z.string(), name: z.string(), leaseId: z.string().optional(), reason: z.string() });

/** `cleanup --json` (brokered mode: only `orphanKeys` can be non-empty). */
export const cleanupJson = document('cleanup', {
  dryRun: z.boolean(),
  deleted: z.array(cleanupEntry),
  skipped: z.array(cleanupEntry),
  failed: z.array(cleanupEntry),
  orphanKeys: z.array(z.string()),
  dangling: z.strictObject({ deleted: z.array(dangling), skipped: z.array(dangling) }),
  staleIndex: z.array(z.string()),
});
export type CleanupJson = z.infer<typeof cleanupJson>;

/** `sync-plan --json`. */
export const syncPlanJson = document('sync-plan', {
  repoRoot: z.string(),
  files: count,
  bytes: count,
  tracked: count,
  untracked: count,
  symlinks: count,
  excluded: count,
  skippedDirectories: z.array(z.string()),
  deletions: z.array(z.string()),
  biggestFiles: z.array(z.strictObject({ path: z.string(), bytes: count })),
  biggestFolders: z.array(z.strictObject({ path: z.string(), bytes: count, files: count })),
  guardrails: z.strictObject({ verdict: z.enum(['ok', 'warn', 'fail']), messages: z.array(z.string()) }),
  excludes: z.strictObject({ builtin: z.array(z.string()), configured: z.array(z.string()), crabboxignore: z.array(z.string()) }),
});
export type SyncPlanJson = z.infer<typeof syncPlanJson>;

const configPaths = { userConfig: z.string(), repoConfig: z.string().optional(), repoRoot: z.string().optional(), stateDir: z.string() };

/** `config path --json`. */
export const configPathsJson = document('config-paths', configPaths);
export type ConfigPathsJson = z.infer<typeof configPathsJson>;

/**
 * `config show --json`: the settings in config-file keys (secrets redacted; optional sections only when set), where
 * each came from, and the paths. The settings follow docs/config.md; this schema pins the frame, not every key.
 */
export const configShowJson = z.object({
  schema: z.literal(schemaId('config')),
  provider: z.string(),
  owner: z.string(),
  org: z.string(),
  sources: z.record(z.string(), z.enum(['default', 'user', 'repo', 'user+repo', 'env', 'flag'])),
  paths: z.strictObject(configPaths),
}).catchall(z.unknown());
export type ConfigShowJson = z.infer<typeof configShowJson>;

/** `doctor --json`. */
export const doctorJson = document('doctor', {
  ok: z.boolean(),
  checks: z.array(z.strictObject({
    name: z.string(),
    ok: z.boolean(),
    kind: z.enum(['tool', 'config', 'runtime', 'coordinator']),
    detail: z.string(),
    fix: z.string().optional(),
    warning: z.boolean().optional(),
  })),
});
export type DoctorJson = z.infer<typeof doctorJson>;

/** `version --json`. */
export const versionJson = document('version', { version: z.string(), node: z.string() });

/** `logout --json`. */
export const logoutJson = document('logout', { removed: z.boolean(), urlRemoved: z.string().nullable(), config: z.string(), mode: z.enum(['direct', 'brokered']) });
export type LogoutJson = z.infer<typeof logoutJson>;

/** `coordinator init-secrets --json`: the files, never the values. */
export const coordinatorSecretsJson = document('coordinator-secrets', { sharedTokenFile: z.string(), sessionSecretFile: z.string(), created: z.boolean() });

/** `coordinator deploy --json`: what was checked and staged, the secrets the Worker needs (names only). */
export const coordinatorDeployJson = document('coordinator-deploy', {
  staged: z.string(), bundleBytes: z.number().int(), providers: z.array(z.string()), secrets: z.array(z.array(z.string())), missingSecrets: z.array(z.array(z.string())), dryRun: z.boolean(),
});

/** `coordinator serve --json`: one line once it listens. */
export const coordinatorServeJson = document('coordinator-serve', { url: z.string(), host: z.string(), port: z.number().int(), installation: z.string() });

/** `coordinator issue-token --json`: the token is the output (stdout only). */
export const issuedTokenJson = document('issued-token', { token: z.string(), owner: z.string(), org: z.string(), login: z.string(), expiresAt: z.string() });

/** `init --json`: what was detected and which files were written, kept or replaced. */
export const initJson = document('init', {
  root: z.string(),
  project: z.strictObject({
    languages: z.array(z.enum(['node', 'python', 'go'])),
    packageManager: z.string().nullable(),
    testCommand: z.array(z.string()).nullable(),
    junit: z.array(z.string()),
  }),
  files: z.array(z.strictObject({ path: z.string(), action: z.enum(['created', 'updated', 'unchanged', 'kept', 'replaced']), note: z.string().optional() })),
});
export type InitJson = z.infer<typeof initJson>;

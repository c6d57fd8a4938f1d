import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import type { RunReportJson } from '../api/shapes-team.ts';
import { CrabboxError } from '../domain/errors.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { selectEnv } from '../env/select.ts';
import { isSessionName, parseEnvFlag, sessionEnv } from '../env/session.ts';
import { validateJUnitPattern } from '../results/globs.ts';
import type { ArtifactsSummary } from '../artifacts/download.ts';
import { validateDownloadPattern } from '../artifacts/globs.ts';
import type { JUnitSummary } from '../results/junit.ts';
import { sshBox } from '../run/box.ts';
import { runOnBox } from '../run/run.ts';
import { fromRunOutcome, resultObject } from '../run/summary.ts';
import { createLocalRunRecorder } from '../runs/local-recorder.ts';
import { LogTail } from '../runs/log-tail.ts';
import type { RunRecorder } from '../runs/recorder.ts';
import { RemoteRunRecorder } from '../runs/remote-recorder.ts';
import { stateDir } from '../config/paths.ts';
import { cacheDirFor } from '../sync/cache.ts';
import { gitTopLevel } from '../sync/git.ts';
import { startSync } from '../sync/prepare.ts';
import { gitMetaFor } from '../sync/git-meta.ts';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { leaseKeyDir } from '../ssh/keys.ts';
import { readCheckout } from '../sync/scan.ts';
import type { AppContext } from './context.ts';
import { explainError } from './explain.ts';
import { leaseRef, leaseSettings } from './inputs.ts';
import { leaseSession, type LeaseSession } from './session.ts';
import { useCase } from './usecase.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Where run records go: the coordinator in brokered mode, the local run store otherwise, with a bounded output tail. */
function runRecording(session: LeaseSession, recordCommand: boolean): { recorder: RunRecorder; tail: LogTail } {
  const { config, clock } = session;
  const recorder = session.coordinator
    ? new RemoteRunRecorder({ client: session.coordinator, recordCommand })
    : createLocalRunRecorder({ config, clock, recordCommand });
  return { recorder, tail: new LogTail({ maxBytes: config.run.logTailBytes }) };
}

/** What the box's .git holds, for one lease and checkout: kept with the lease's keys, so it goes when the lease does. */
function gitStateFile(stateDir: string, leaseId: string, repoRoot: string): string {
  return join(leaseKeyDir(stateDir, leaseId), `git-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 16)}.json`);
}

/** A download path from the config: a bad one is a config error naming the key. */
function configPattern(pattern: string, key: string): string {
  try {
    return validateDownloadPattern(pattern, key);
  } catch (error) {
    throw new CrabboxError('invalid_config', (error as Error).message);
  }
}

/** Lease failures in the user's terms (network, credentials, flag names) before the run records and reports them. */
const rethrowExplained = (error: unknown): never => {
  throw explainError(error);
};

export const runInput = z.strictObject({
  command: z.array(z.string().max(100_000)).min(1).max(10_000).describe('The command as argv, e.g. ["npm", "test"]; with shell, one bash command line'),
  shell: z.boolean().optional().describe('Run the command as one bash command line (pipes, &&, globs); command is then joined with spaces'),
  lease: leaseRef.optional().describe('Run on this lease (from warmup) and leave it running; without it a fresh box is leased and released after the run'),
  sync: z.boolean().default(true).describe('Sync the checkout first (default true); false runs on the box as it is'),
  junit: z.array(z.string().max(300)).max(50).optional().describe('JUnit XML paths or globs on the box, relative to the checkout, to summarise (default from config run.junit)'),
  allowLarge: z.boolean().optional().describe('Sync even when over the configured file-count or size guardrails'),
  allowMassDelete: z.boolean().optional().describe('Sync even when it deletes more than sync.deleteLimit files on the box'),
  lockWaitSeconds: z.number().int().min(0).max(86_400).default(600).describe('How long to wait for another run on the same lease (default 600)'),
  recordCommand: z.boolean().default(true).describe('Store the command line in the run record (default true)'),
  download: z.array(z.string().max(500)).max(50).optional().describe('Paths or globs on the box, relative to the checkout, to copy back into .crabbox/artifacts/<run id>/ after the command, also when it fails'),
  tty: z.boolean().optional().describe('Run the command on a terminal on the box (colours, progress bars); stdout and stderr become one stream'),
  env: z.array(z.string().max(200)).max(100).optional().describe('More env names to forward for this run, names only (their values come from the caller\'s environment)'),
  ...leaseSettings,
});
export type RunInput = z.output<typeof runInput>;

/**
 * run: lease (or reuse) a box, sync the checkout, run the command with its output streaming to ctx.output, collect
 * JUnit reports, record the run, release a fresh box. Never throws for a failure of the run itself (a lease, sync or
 * ssh failure is in the result's `error`, and its exit code in `exitCode`); bad input throws before anything happens.
 */
export async function runCommand(ctx: AppContext, input: RunInput): Promise<RunReportJson> {
  const startedAt = ctx.startedAt ?? ctx.clock.now(); // a caller without a process start (MCP): from here
  if (input.lease !== undefined) parseLeaseRef(input.lease);
  if (input.lease !== undefined && input.pool) throw new CrabboxError('bad_request', '--pool only applies to a fresh lease; a lease named with --id already has its machine');
  if (input.lease !== undefined && input.keep) throw new CrabboxError('bad_request', '--keep only applies to a fresh lease; a lease named with --id is never released');
  input.junit?.forEach(validateJUnitPattern);
  const extraNames = (input.env ?? []).map(parseEnvFlag);
  const downloads = (input.download ?? []).map((p) => validateDownloadPattern(p));
  const topLevel = gitTopLevel(ctx.cwd); // git answers while the config and the provider load
  // So does the sync scan's reading (git's change lists, the sync cache): none of it needs the config. With a named
  // lease on a box that is this computer, it waits until the run's ssh has started: the box's own check of its files
  // then competes with git for the same CPUs, and is usually the longer of the two (docs/performance.md).
  const gate = input.lease === undefined ? undefined : readsGate();
  const early = input.sync ? topLevel.then((root) => (root ? { root, reads: gated(gate, () => readCheckout(root, cacheDirFor(stateDir(ctx.env), root))) } : undefined)) : undefined;
  early?.catch(() => undefined);
  const session = await leaseSession(ctx, input);
  if (!session.local) gate?.open(true);
  const { config, leases } = session;
  const junitPatterns = input.junit ?? config.run.junit;
  if (!input.junit) {
    try {
      junitPatterns.forEach(validateJUnitPattern);
    } catch (error) {
      throw new CrabboxError('invalid_config', `run.junit: ${(error as Error).message}`);
    }
  }
  for (const name of extraNames) if (ctx.env[name] === undefined && !isSessionName(name)) ctx.warn(`warning: --env ${name}: not set here; nothing is forwarded for it`);
  const artifactPatterns = [...downloads, ...config.artifacts.paths.map((p) => configPattern(p, 'artifacts.paths'))];
  const failurePatterns = config.artifacts.onFailure.map((p) => configPattern(p, 'artifacts.onFailure'));
  const env = selectEnv(ctx.env, [...config.env.allow, ...extraNames]);
  const recordCommand = input.recordCommand && config.run.recordCommand;
  let junit: JUnitSummary | undefined;
  let artifacts: ArtifactsSummary | undefined;
  const repoRoot = (await topLevel) ?? (input.sync ? undefined : ctx.cwd);
  if (!repoRoot) throw new CrabboxError('sync_failed', `${ctx.cwd} is not inside a git checkout; crabbox syncs what git sees`, { hint: 'run it from a git checkout, or pass --no-sync' });
  // A fresh lease waits for the scan (the guardrails stop a run before anything is leased); with a named lease the
  // scan overlaps finding the lease and the box's own check, and its errors end the run there.
  const begun = await early;
  const sync = input.sync
    ? startSync({
      repoRoot, settings: config.sync, cacheDir: cacheDirFor(config.paths.stateDir, repoRoot), allowLarge: input.allowLarge, allowMassDelete: input.allowMassDelete,
      reads: begun?.root === repoRoot && config.paths.stateDir === stateDir(ctx.env) ? begun.reads : undefined,
    })
    : undefined;
  if (sync && input.lease === undefined) await sync.prepared;
  sync?.prepared.then((p) => p.warnings.forEach((w) => ctx.warn(w)), () => undefined);
  const keep = input.keep === true || config.lease.keep;
  const recording = runRecording(session, recordCommand);
  const outcome = await runOnBox({
    leases: {
      acquire: async (ref, req) => {
        const handle = await leases.acquire(ref, { keep: req.keep, signal: req.signal }).catch(rethrowExplained);
        ctx.progress({ type: 'lease', id: handle.lease.id, slug: handle.lease.slug, releases: handle.fresh && !keep });
        const confirm = handle.confirm;
        return confirm ? { ...handle, confirm: () => confirm().catch(rethrowExplained) } : handle;
      },
      touch: (lease) => leases.touch(lease).catch(rethrowExplained),
      recheck: (lease) => leases.touch(lease.id).catch(rethrowExplained),
      release: (lease) => leases.release(lease).catch(rethrowExplained),
    },
    connect: (target) => sshBox(target, { local: session.local || LOOPBACK.has(target.host), signal: ctx.signal }),
    ...recording,
    afterCommand: junitPatterns.length === 0 && artifactPatterns.length === 0 && failurePatterns.length === 0 ? undefined : async (box, workdir, ran) => {
      // The failure bundle comes back only when the command failed.
      const patterns = [...new Set([...artifactPatterns, ...(ran.exitCode === 0 ? [] : failurePatterns)])];
      if (patterns.length > 0) {
        const { downloadArtifacts } = await import('../artifacts/download.ts');
        artifacts = await downloadArtifacts({
          box, workdir, patterns, repoRoot, name: ran.runId ?? `unrecorded-${ctx.clock.now()}`,
          limits: { maxFiles: config.artifacts.maxFiles, maxBytes: config.artifacts.maxBytes }, warn: (line) => ctx.warn(line), clock: ctx.clock,
        });
      }
      if (junitPatterns.length === 0) return;
      // Loaded only when asked for: the XML parser is most of the run command's code.
      const { boxJUnitSource, collectJUnit } = await import('../results/collect.ts');
      junit = await collectJUnit(junitPatterns, boxJUnitSource(box, workdir));
      for (const w of junit.warnings) ctx.warn(`warning: junit: ${w}`);
    },
    finishExtras: () => ({ ...(junit ? { junit } : {}), ...(artifacts ? { artifacts } : {}) }),
    clock: ctx.clock,
    startedAt,
    leaseRef: input.lease,
    keep,
    sync,
    git: config.sync.gitDepth > 0 ? (leaseId) => gitMetaFor({ repoRoot, depth: config.sync.gitDepth, stateFile: gitStateFile(config.paths.stateDir, leaseId, repoRoot) }) : undefined,
    repoRoot,
    command: { mode: input.shell ? 'shell' : 'argv', args: input.shell ? [input.command.join(' ')] : input.command },
    recordCommand,
    env,
    sessionEnv: sessionEnv(ctx.env, ctx.terminal, { pty: input.tty === true }),
    pty: input.tty ? { columns: ctx.terminal?.columns ?? 80, rows: ctx.terminal?.rows ?? 24, onResize: ctx.terminal?.onResize, onInput: ctx.terminal?.onInput } : undefined,
    lockWaitSeconds: input.lockWaitSeconds,
    stdout: ctx.output.stdout,
    stderr: ctx.output.stderr,
    progress: (message) => ctx.progress({ type: 'progress', message }),
    warn: (line) => ctx.warn(line),
    debug: (line) => ctx.debug(line),
    interrupt: ctx.signal,
    ...(session.coordinator ? { releaseHint: 'the coordinator expires it at its deadline' } : {}),
    execStarted: () => gate?.open(true),
  });
  gate?.open(false); // the run ended before its exec started: git's reads are not needed
  const result = resultObject(fromRunOutcome(outcome, await sync?.prepared.catch(() => undefined), junit, artifacts));
  recording.tail.close();
  return {
    schema: schemaId('run-report'),
    result,
    failedTests: junit?.failed ?? [],
    failedOmitted: junit?.failedOmitted ?? 0,
    outputTail: recording.tail.snapshot(),
  };
}

/** A gate for git's reads: open(true) starts them, open(false) (or nothing) leaves them unstarted. Only the first call counts. */
function readsGate(): { opened: Promise<boolean>; open(start: boolean): void } {
  let open!: (start: boolean) => void;
  const opened = new Promise<boolean>((resolve) => (open = resolve));
  return { opened, open };
}

/** `start()` once the gate opens (at once without a gate); observed here, so a read nobody awaits is never an unhandled rejection. */
function gated<T>(gate: ReturnType<typeof readsGate> | undefined, start: () => Promise<T>): Promise<T> {
  const reads = gate ? gate.opened.then((go) => (go ? start() : Promise.reject(new CrabboxError('interrupted', 'the run ended before its sync started')))) : start();
  reads.catch(() => undefined);
  return reads;
}

export const run = useCase({
  name: 'run',
  description: 'Run a command on a Linux box against this checkout: sync the working tree (tracked and untracked, not ignored files), run the command, '
    + 'return its exit code, phase timings, failed JUnit tests and the end of its output. Without `lease` a fresh box is leased and released; '
    + 'for several runs in one task, call warmup once and pass its slug as `lease` (faster: only changes are synced). '
    + 'Output streams as progress notifications when the request has a progressToken. The exit code is the command\'s own unless result.source is "crabbox".',
  input: runInput,
  output: () => import('../api/shapes-team.ts').then((m) => m.runReportJson),
  annotations: { title: 'Run a command on a box', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  run: runCommand,
});

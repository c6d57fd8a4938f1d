import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext } from '../context.ts';
import type { LeaseFlags } from '../direct.ts';
import { leaseSession, type LeaseSession } from '../session.ts';
import { explainError } from '../explain.ts';
import { reuseHint } from './warmup.ts';
import { LogTail } from '../../runs/log-tail.ts';
import { createLocalRunRecorder } from '../../runs/local-recorder.ts';
import { RemoteRunRecorder } from '../../runs/remote-recorder.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseDuration } from '../../domain/duration.ts';
import { selectEnv } from '../../env/select.ts';
import { validateJUnitPattern } from '../../results/globs.ts';
import type { JUnitSummary } from '../../results/junit.ts';
import { sshBox } from '../../run/box.ts';
import { runOnBox } from '../../run/run.ts';
import { formatSummaryLine, fromRunOutcome, resultObject } from '../../run/summary.ts';
import type { RunRecorder } from '../../runs/recorder.ts';
import { gitTopLevel } from '../../sync/git.ts';
import { prepareSync } from '../../sync/prepare.ts';
import { redact, redactValue } from '../../redact/redact.ts';

interface RunFlags extends LeaseFlags {
  id?: string;
  shell?: boolean;
  sync: boolean;
  resultFile?: string;
  junit?: string;
  allowLarge?: boolean;
  allowMassDelete?: boolean;
  lockWait: string;
  recordCommand: boolean;
}

/** Where run records go: the coordinator in brokered mode, the local run store otherwise, with a bounded output tail. */
function runRecording(session: LeaseSession, recordCommand: boolean): { recorder: RunRecorder; tail: LogTail } {
  const { config, clock } = session;
  const recorder = session.coordinator
    ? new RemoteRunRecorder({ client: session.coordinator, recordCommand })
    : createLocalRunRecorder({ config, clock, recordCommand });
  return { recorder, tail: new LogTail({ maxBytes: config.run.logTailBytes }) };
}

/** Lease failures in the user's terms (network, credentials, flag names) before the run records and reports them. */
const rethrowExplained = (error: unknown): never => {
  throw explainError(error);
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The lease a run holds, as far as the second Ctrl-C needs to name it. */
interface HeldLease {
  id: string;
  slug: string;
  /** The run would release it (fresh and not kept). */
  releases: boolean;
}

/** What a second Ctrl-C leaves behind, in one line: the lease and the command that stops it. */
export function leftBehind(held: HeldLease | undefined): string {
  if (!held) return 'a lease may still be in creation: `crabbox list` shows it, `crabbox stop <slug>` stops it';
  return held.releases
    ? `lease ${held.slug} (${held.id}) is left running: \`crabbox stop ${held.slug}\` stops it`
    : `lease ${held.slug} (${held.id}) stays as it was: \`crabbox stop ${held.slug}\` stops it`;
}

/**
 * First Ctrl-C / SIGTERM aborts the run in order (the remote command gets SIGINT, then SIGTERM, then SIGKILL while it
 * keeps running); a second one exits at once, naming the lease it leaves. Only for the real process.
 */
function interruptSignal(ctx: CliContext, held: () => HeldLease | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (ctx.stdout !== process.stdout && ctx.stderr !== process.stderr) return { signal: controller.signal, dispose: () => undefined };
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      ctx.stderr.write(`crabbox: interrupted again; exiting now; ${leftBehind(held())}\n`);
      process.exit(sig === 'SIGTERM' ? 143 : 130);
    }
    ctx.stderr.write(`crabbox: ${sig === 'SIGTERM' ? 'terminated' : 'interrupted'}; stopping the remote command and releasing (again to exit now)\n`);
    controller.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { signal: controller.signal, dispose: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Lease a box (or use --id), sync this checkout, run the command there, stream its output, exit with its code')
    .argument('[command...]', 'the command, after -- (argv, run without a shell unless --shell)')
    .option('--id <ref>', 'use this lease (id or slug) instead of a fresh one; it is never released')
    .option('--keep', 'do not release the fresh lease afterwards')
    .option('--shell', 'run the command as one bash command line (pipes, &&, globs)')
    .option('--no-sync', 'run on the box as it is, without syncing')
    .option('--result-file <path>', 'also write the --json result object to this file')
    .option('--junit <paths>', 'comma-separated JUnit XML paths on the box to summarise')
    .option('--allow-large', 'sync even when over sync.maxFiles / sync.maxBytes')
    .option('--allow-mass-delete', 'sync even when it deletes more than sync.deleteLimit files on the box')
    .option('--lock-wait <duration>', 'how long to wait for another run on the same lease', '10m')
    .option('--no-record-command', 'do not store the command line in the run record')
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--ttl <duration>', 'hard lifetime cap of a fresh lease, 1m to 24h (default 90m)')
    .option('--idle-timeout <duration>', 'idle timeout of a fresh lease, 1m up to the TTL (default 30m)')
    .option('--class <name>', 'machine class')
    .option('--type <type>', 'explicit machine type')
    .action(async (command: string[], flags: RunFlags) => {
      if (command.length === 0) throw new CrabboxError('bad_request', 'no command given; usage: crabbox run [flags] -- <command...>');
      if (flags.id !== undefined && flags.keep) throw new CrabboxError('bad_request', '--keep only applies to a fresh lease; a lease named with --id is never released');
      const lockWaitSeconds = parseDuration(flags.lockWait, '--lock-wait');
      if (lockWaitSeconds > 86_400) throw new CrabboxError('bad_request', `--lock-wait ${JSON.stringify(flags.lockWait)}: at most 24h`);
      const flagJunit = flags.junit?.split(',').map((s) => s.trim()).filter(Boolean);
      flagJunit?.forEach(validateJUnitPattern);
      const topLevel = gitTopLevel(ctx.cwd); // git answers while the config and the provider load
      const session = await leaseSession(ctx, flags);
      const { config, leases } = session;
      const junitPatterns = flagJunit ?? config.run.junit;
      if (!flagJunit) {
        try {
          junitPatterns.forEach(validateJUnitPattern);
        } catch (error) {
          throw new CrabboxError('invalid_config', `run.junit: ${(error as Error).message}`);
        }
      }
      const env = selectEnv(ctx.env, config.env.allow);
      const recordCommand = flags.recordCommand && config.run.recordCommand;
      let junit: JUnitSummary | undefined;
      const repoRoot = (await topLevel) ?? (flags.sync ? undefined : ctx.cwd);
      if (!repoRoot) throw new CrabboxError('sync_failed', `${ctx.cwd} is not inside a git checkout; crabbox syncs what git sees`, { hint: 'run it from a git checkout, or pass --no-sync' });
      const sync = flags.sync
        ? await prepareSync({ repoRoot, settings: config.sync, allowLarge: flags.allowLarge, allowMassDelete: flags.allowMassDelete })
        : undefined;
      for (const w of sync?.warnings ?? []) ctx.info(w);
      const tty = ctx.stderr.isTTY === true;
      const keep = flags.keep === true || config.lease.keep;
      let held: HeldLease | undefined;
      const interrupt = interruptSignal(ctx, () => held);
      try {
        const outcome = await runOnBox({
          leases: {
            acquire: async (ref, req) => {
              const handle = await leases.acquire(ref, { keep: req.keep, signal: req.signal }).catch(rethrowExplained);
              held = { id: handle.lease.id, slug: handle.lease.slug, releases: handle.fresh && !keep };
              return handle;
            },
            touch: (lease) => leases.touch(lease).catch(rethrowExplained),
            release: (lease) => leases.release(lease).catch(rethrowExplained),
          },
          connect: (target) => sshBox(target, { local: session.local || LOOPBACK.has(target.host), signal: interrupt.signal }),
          ...runRecording(session, recordCommand),
          afterCommand: junitPatterns.length === 0 ? undefined : async (box, workdir) => {
            // Loaded only when asked for: the XML parser is most of the run command's code.
            const { boxJUnitSource, collectJUnit } = await import('../../results/collect.ts');
            junit = await collectJUnit(junitPatterns, boxJUnitSource(box, workdir));
          },
          finishExtras: () => (junit ? { junit } : {}),
          clock: ctx.clock,
          leaseRef: flags.id,
          keep,
          sync,
          repoRoot,
          command: { mode: flags.shell ? 'shell' : 'argv', args: flags.shell ? [command.join(' ')] : command },
          recordCommand,
          env,
          lockWaitSeconds,
          // --json keeps stdout for the result object alone.
          stdout: ctx.json ? ctx.stderr : ctx.stdout,
          stderr: ctx.stderr,
          progress: (line) => { if (tty) ctx.info(line); },
          warn: (line) => ctx.info(line),
          debug: (line) => ctx.log(line),
          interrupt: interrupt.signal,
          ...(session.coordinator ? { releaseHint: 'the coordinator expires it at its deadline' } : {}),
        });
        const report = fromRunOutcome(outcome, sync, junit);
        const result = resultObject(report);
        for (const w of junit?.warnings ?? []) ctx.info(`warning: junit: ${w}`);
        if (junit) ctx.info(`crabbox: junit tests=${junit.tests} passed=${junit.passed} failures=${junit.failures} errors=${junit.errors} skipped=${junit.skipped}`);
        const line = formatSummaryLine({ ...report, syncState: outcome.sync, slug: outcome.slug, interrupted: outcome.interrupted });
        ctx.stderr.write(`crabbox: ${redact(line)}\n`);
        if (outcome.error && !outcome.interrupted) ctx.info(`crabbox: ${outcome.error.message}${outcome.error.hint ? `; ${outcome.error.hint}` : ''}`);
        if (outcome.fresh && !outcome.released && outcome.slug && (flags.keep === true || config.lease.keep)) ctx.info(`crabbox: kept ${outcome.leaseId} (${outcome.slug}); ${reuseHint(outcome.slug)}`);
        if (ctx.json) ctx.stdout.write(`${JSON.stringify(redactValue(result), null, 2)}\n`);
        if (flags.resultFile) {
          try {
            writeFileSync(resolve(ctx.cwd, flags.resultFile), `${JSON.stringify(redactValue(result), null, 2)}\n`);
          } catch (error) {
            ctx.info(`warning: cannot write --result-file: ${(error as Error).message}`);
          }
        }
        ctx.exitCode = outcome.exitCode;
      } finally {
        interrupt.dispose();
      }
    });
}

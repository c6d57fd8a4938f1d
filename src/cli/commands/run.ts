import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext } from '../context.ts';
import { appContext } from '../app-context.ts';
import { reuseHint } from './warmup.ts';
import type { RunResultJson } from '../../api/shapes.ts';
import { runCommand } from '../../app/run.ts';
import type { LeaseFlags } from '../../app/session.ts';
import { validateJUnitPattern } from '../../app/junit-patterns.ts';
import { formatSummaryLine } from '../../app/text.ts';
import { plural } from '../../domain/plural.ts';
import { formatBytes } from '../output.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseDuration } from '../../domain/duration.ts';
import { parseEnvFlag } from '../../app/env-names.ts';
import { validateDownloadPattern } from '../../app/download-patterns.ts';
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
  env: string[];
  download: string[];
  tty?: boolean;
}

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
 * keeps running); a second one exits at once, naming the lease it leaves. Only where interrupts reach the command
 * (the real process, or relayed by the warm runner).
 */
function interruptSignal(ctx: CliContext, held: () => HeldLease | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const interrupts = ctx.interrupts;
  if (!interrupts) return { signal: controller.signal, dispose: () => undefined };
  const dispose = interrupts.listen((sig) => {
    if (controller.signal.aborted) {
      ctx.stderr.write(`crabbox: interrupted again; exiting now; ${leftBehind(held())}\n`);
      interrupts.exitNow(sig === 'SIGTERM' ? 143 : 130);
      return;
    }
    ctx.stderr.write(`crabbox: ${sig === 'SIGTERM' ? 'terminated' : 'interrupted'}; stopping the remote command and releasing (again to exit now)\n`);
    controller.abort(sig);
  });
  return { signal: controller.signal, dispose };
}

/**
 * With `-t` on a real terminal: the keys go to the command's terminal on the box, so the local terminal is put in raw
 * mode while they are listened to (Ctrl-C then reaches the command as a key, as over `ssh -t`), and restored after,
 * also when the process exits another way.
 */
function rawInput(ctx: CliContext): ((listener: (bytes: Buffer) => void) => () => void) | undefined {
  const stdin = process.stdin;
  if (ctx.stdin !== stdin || !stdin.isTTY) return undefined;
  return (listener) => {
    const restore = (): void => {
      if (stdin.isRaw) stdin.setRawMode(false);
    };
    stdin.setRawMode(true);
    stdin.on('data', listener);
    stdin.resume();
    process.once('exit', restore);
    return () => {
      stdin.off('data', listener);
      stdin.pause();
      restore();
      process.off('exit', restore);
    };
  };
}

/** What `crabbox run` prints on stderr when it is done: JUnit counts, the timing line, the failure, how to reuse a kept box. */
function report(ctx: CliContext, result: RunResultJson, kept: boolean): void {
  const j = result.junit;
  if (j) ctx.info(`crabbox: junit tests=${j.tests} passed=${j.passed} failures=${j.failures} errors=${j.errors} skipped=${j.skipped}`);
  const a = result.artifacts;
  if (a && a.files > 0) ctx.info(`crabbox: downloaded ${plural(a.files, 'file')} (${formatBytes(a.bytes)}) to ${a.dir}/`);
  ctx.stderr.write(`crabbox: ${redact(formatSummaryLine(result))}\n`);
  if (result.error && !result.interrupted) ctx.info(`crabbox: ${result.error.message}${result.error.hint ? `; ${result.error.hint}` : ''}`);
  const lease = result.lease;
  if (lease?.fresh && !lease.released && kept) ctx.info(`crabbox: kept ${lease.id} (${lease.slug}); ${reuseHint(lease.slug)}`);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Lease a box (or use --id), sync this checkout, run the command there, stream its output, exit with its code')
    .argument('[command...]', 'the command, after -- (argv, run without a shell unless --shell)')
    .option('--id <ref>', 'use this lease (id or slug) instead of a fresh one; it is never released')
    .option('--keep', 'do not release the fresh lease afterwards')
    .option('--shell', 'run the command as one bash command line (pipes, &&, globs)')
    .option('-t, --tty', 'run the command on a terminal on the box (colours, progress bars; window resizes follow); stdout and stderr become one stream')
    .option('--no-sync', 'run on the box as it is, without syncing')
    .option('--result-file <path>', 'also write the --json result object to this file')
    .option('--junit <paths>', 'comma-separated JUnit XML paths on the box to summarise')
    .option('--allow-large', 'sync even when over sync.maxFiles / sync.maxBytes')
    .option('--allow-mass-delete', 'sync even when it deletes more than sync.deleteLimit files on the box')
    .option('--lock-wait <duration>', 'how long to wait for another run on the same lease', '10m')
    .option('--no-record-command', 'do not store the command line in the run record')
    .option('--download <path>', 'after the command (also when it fails) copy these paths or globs from the box into .crabbox/artifacts/<run id>/ (repeatable)', (p: string, ps: string[]) => [...ps, p], [] as string[])
    .option('--env <name>', 'also forward this variable from your environment (a name, never a value; repeatable)', (name: string, names: string[]) => [...names, name], [] as string[])
    .option('--provider <name>', 'provider: local, ssh, hetzner, aws')
    .option('--ttl <duration>', 'hard lifetime cap of a fresh lease, 1m to 24h (default 90m)')
    .option('--idle-timeout <duration>', 'idle timeout of a fresh lease, 1m up to the TTL (default 30m)')
    .option('--class <name>', 'machine class')
    .option('--type <type>', 'explicit machine type')
    .option('--pool [name]', 'a fresh lease takes an idle machine from the coordinator\'s warm pool (of this provider and class, or the named pool)')
    .action(async (command: string[], flags: RunFlags) => {
      if (command.length === 0) throw new CrabboxError('bad_request', 'no command given; usage: crabbox run [flags] -- <command...>');
      if (flags.id !== undefined && flags.pool) throw new CrabboxError('bad_request', '--pool only applies to a fresh lease; a lease named with --id already has its machine');
      if (flags.id !== undefined && flags.keep) throw new CrabboxError('bad_request', '--keep only applies to a fresh lease; a lease named with --id is never released');
      const lockWaitSeconds = parseDuration(flags.lockWait, '--lock-wait');
      if (lockWaitSeconds > 86_400) throw new CrabboxError('bad_request', `--lock-wait ${JSON.stringify(flags.lockWait)}: at most 24h`);
      const junit = flags.junit?.split(',').map((s) => s.trim()).filter(Boolean);
      junit?.forEach(validateJUnitPattern);
      flags.env.forEach(parseEnvFlag);
      flags.download.forEach((p) => validateDownloadPattern(p));
      // The command's output lands here: its TERM, COLUMNS and LINES reach the box only when it is a terminal.
      const dest = (ctx.json ? ctx.stderr : ctx.stdout) as { isTTY?: boolean; columns?: number; rows?: number };
      const onResize = dest.isTTY && dest === process.stdout
        ? (listener: (columns: number, rows: number) => void): (() => void) => {
          const handler = (): void => listener(process.stdout.columns, process.stdout.rows);
          process.stdout.on('resize', handler);
          return () => process.stdout.off('resize', handler);
        }
        : undefined;
      const terminal = dest.isTTY ? { columns: dest.columns, rows: dest.rows, onResize, onInput: flags.tty ? rawInput(ctx) : undefined } : undefined;
      const tty = ctx.stderr.isTTY === true;
      let held: HeldLease | undefined;
      const interrupt = interruptSignal(ctx, () => held);
      // `crabbox run … | head`: once the reader is gone, what is left to print is dropped, never a crash. Kept to the
      // end of the process: the error of the last line's write is emitted a tick after it.
      for (const s of [ctx.stdout, ctx.stderr]) s.on('error', () => undefined);
      try {
        const app = appContext(ctx, {
          signal: interrupt.signal,
          progress: (event) => {
            if (event.type === 'lease') held = { id: event.id, slug: event.slug, releases: event.releases };
            else if (tty) ctx.info(event.message);
          },
          // --json keeps stdout for the result object alone.
          output: { stdout: ctx.json ? ctx.stderr : ctx.stdout, stderr: ctx.stderr },
          terminal,
        });
        const { result } = await runCommand(app, {
          command, shell: flags.shell, lease: flags.id, keep: flags.keep, sync: flags.sync, junit, allowLarge: flags.allowLarge, allowMassDelete: flags.allowMassDelete,
          lockWaitSeconds, recordCommand: flags.recordCommand, env: flags.env, download: flags.download, tty: flags.tty, provider: flags.provider, ttl: flags.ttl, idleTimeout: flags.idleTimeout, class: flags.class, type: flags.type, pool: flags.pool,
        });
        report(ctx, result, held !== undefined && !held.releases && flags.id === undefined);
        if (ctx.json) ctx.stdout.write(`${JSON.stringify(redactValue(result), null, 2)}\n`);
        if (flags.resultFile) {
          try {
            writeFileSync(resolve(ctx.cwd, flags.resultFile), `${JSON.stringify(redactValue(result), null, 2)}\n`);
          } catch (error) {
            ctx.info(`warning: cannot write --result-file: ${(error as Error).message}`);
          }
        }
        ctx.exitCode = result.exitCode;
      } finally {
        interrupt.dispose();
      }
    });
}

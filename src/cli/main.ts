import { Command, CommanderError } from 'commander';
import type { CliContext, CliIO } from './context.ts';
import { commandNames, findCommand } from './commands.ts';
import { closest } from '../domain/closest.ts';
import { decorateHelp } from './examples.ts';
import { topLevelHelp } from './help.ts';
import { version } from './version.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { systemClock } from '../domain/clock.ts';
import { redact } from '../redact/redact.ts';
import { explainError } from '../app/explain.ts';
import { schemaId } from '../api/schema-id.ts';

/** Runs the CLI against injected IO and returns the exit code. Never throws, never calls process.exit. */
export async function main(io: CliIO): Promise<number> {
  const argv = io.argv;
  // Words after `--` belong to the remote command (`crabbox run -- tool --json`), never to crabbox.
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const json = own.includes('--json');
  const debug = own.includes('--debug');
  const ctx: CliContext = {
    env: io.env,
    cwd: io.cwd,
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    clock: io.clock ?? systemClock,
    startedAt: io.startedAt ?? (io.clock ?? systemClock).now(),
    interrupts: io.interrupts,
    exitCode: 0,
    json,
    debug,
    info: (line) => void io.stderr.write(`${redact(line)}\n`),
    log: (line) => {
      if (debug) io.stderr.write(`debug: ${redact(line)}\n`);
    },
  };

  const words = own.filter((a) => !a.startsWith('-'));
  const first = words[0];
  const asksHelp = argv.some((a) => a === '-h' || a === '--help');
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout.write(`crabbox ${version()}\n`);
    return ExitCode.ok;
  }
  // `crabbox help <command> [subcommand]` is `crabbox <command> [subcommand] --help`.
  if (first === 'help') {
    const topic = words.slice(1);
    if (topic.length === 0) {
      io.stdout.write(topLevelHelp());
      return ExitCode.ok;
    }
    return main({ ...io, argv: [...topic, '--help'] });
  }
  if (first === undefined) {
    (asksHelp ? io.stdout : io.stderr).write(topLevelHelp());
    return asksHelp ? ExitCode.ok : ExitCode.usage;
  }

  const entry = findCommand(first);
  if (!entry) {
    const guess = closest(first, commandNames());
    io.stderr.write(`crabbox: unknown command ${JSON.stringify(first.slice(0, 60))}${guess ? ` (did you mean \`crabbox ${guess}\`?)` : ''}; run \`crabbox --help\` for the list\n`);
    return ExitCode.usage;
  }

  const program = new Command('crabbox')
    .option('--json', 'machine-readable output on stdout')
    .option('--debug', 'diagnostics on stderr (secrets redacted)')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => undefined,
    });

  try {
    const mod = await entry.load();
    mod.register(program, ctx);
    decorateHelp(program);
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return reportError(ctx, error);
  }
}

/** Renders any failure as one line on stderr (or a JSON error object) and picks the exit code. */
export function reportError(ctx: CliContext, thrown: unknown): number {
  const error = explainError(thrown);
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
    // Commander puts its "(Did you mean ...?)" on a second line; keep it, on the one line.
    const message = error.message.replace(/^error:\s*/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ').replace('(Did you mean', '(did you mean');
    return emit(ctx, { error: 'bad_request', message }, ExitCode.usage, ' (see --help)');
  }
  if (isCrabboxError(error)) {
    ctx.log(`cause: ${String((error.cause as Error | undefined)?.stack ?? error.cause ?? '')}`);
    return emit(ctx, error.toJSON(), error.exitCode, error.hint ? `; ${error.hint}` : '');
  }
  const err = error as Error;
  ctx.log(err?.stack ?? String(error));
  return emit(ctx, { error: 'internal', message: `internal error: ${err?.message ?? String(error)}` }, ExitCode.internal, '; rerun with --debug and report it');
}

function emit(ctx: CliContext, body: { error: string; message: string }, code: number, suffix: string): number {
  if (ctx.json) ctx.stdout.write(`${redact(JSON.stringify({ schema: schemaId('error'), ...body, exitCode: code }))}\n`);
  ctx.stderr.write(`crabbox: ${redact(body.message.replace(/\s*\n\s*/g, ' '))}${redact(suffix)}\n`);
  return code;
}

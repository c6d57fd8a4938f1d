// The `crabbox` executable: wires the real process into the CLI and exits with its code.
// `--version` is answered before the CLI frame (commander, the command table) is even loaded: it must start fast.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { version } = await import('../cli/version.ts');
  process.stdout.write(`crabbox ${version()}\n`);
} else {
  const { main } = await import('../cli/main.ts');
  const { offsetClock } = await import('../cli/clock-offset.ts');
  const { processStartedAt, systemClock } = await import('../domain/clock.ts');
  const { clock = systemClock } = offsetClock(process.env);
  process.exitCode = await main({
    argv,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    clock,
    startedAt: processStartedAt(clock),
  });
}

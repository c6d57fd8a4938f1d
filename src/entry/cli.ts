// The `crabbox` executable: wires the real process into the CLI and exits with its code.
// `--version` is answered before the CLI frame (commander, the command table) is even loaded: it must start fast.
const argv = process.argv.slice(2);
if (argv.includes('serve')) {
  // `coordinator serve` starts over with a bounded young generation (src/coordinator/entry/heap.ts); execve does not return.
  const { heapReexec } = await import('../coordinator/entry/heap.ts');
  const reexec = heapReexec(process);
  if (reexec) process.execve!(reexec[0]!, reexec, process.env);
}
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
  // `run` reports a total that ends where the process ends: once its output is flushed nothing is left to do, so it
  // exits instead of tearing the runtime down (about 15 ms less wait on a loaded 2-core machine).
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.find((a) => !a.startsWith('-')) === 'run') process.stdout.write('', () => process.stderr.write('', () => process.exit()));
}

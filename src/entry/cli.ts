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
} else if (argv.length === 1 && argv[0] === '__runner') {
  const { serveRunnerProcess } = await import('../runner/process.ts');
  process.exit(await serveRunnerProcess());
} else {
  const { offsetClock } = await import('../cli/clock-offset.ts');
  const { processStartedAt, systemClock } = await import('../domain/clock.ts');
  const { processInterrupts } = await import('../cli/interrupts.ts');
  const { clock = systemClock } = offsetClock(process.env);
  const startedAt = processStartedAt(clock);
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const isRun = own.find((a) => !a.startsWith('-')) === 'run';
  // A warm `run --id` goes to the warm runner for this checkout when one answers (src/runner/): no CLI to load.
  let served = false;
  let startRunner = false;
  if (isRun && own.some((a) => a === '--id' || a.startsWith('--id='))) {
    const { tryWarmRunner } = await import('../runner/entry.ts');
    const outcome = await tryWarmRunner(argv, clock, startedAt);
    if ('code' in outcome) {
      // No process.exit() here: after streaming output this process may still be compiling hot code in the
      // background, and exiting then can deadlock Node (nodejs/node#54918); ending the event loop runs that work out.
      served = true;
      process.exitCode = outcome.code;
    } else startRunner = outcome.startRunner;
  }
  if (!served) {
    const { main } = await import('../cli/main.ts');
    const code = await main({ argv, env: process.env, cwd: process.cwd(), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, clock, startedAt, interrupts: processInterrupts });
    // No runner answered: start one for the next `run --id` here (not after a mistake in the command line or config).
    if (startRunner && code !== 64 && code !== 78) {
      const { spawnRunner } = await import('../runner/spawn.ts');
      spawnRunner(process.argv[1]!, process.cwd(), process.env);
    }
    process.exitCode = code;
    // `run` reports a total that ends where the process ends: once its output is flushed nothing is left to do, so it
    // exits instead of tearing the runtime down (about 15 ms less wait on a loaded 2-core machine).
    if (isRun) process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  }
}

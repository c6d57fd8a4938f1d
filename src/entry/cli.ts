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
  process.exitCode = await main({
    argv,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    ...offsetClock(process.env),
  });
}

/**
 * V8 sizes its heap for throughput on a machine with plenty of memory: under sustained load a Node 24 process grows
 * its new space to two 64 MiB semi-spaces and lets the old space fill with garbage towards a multi-GiB limit before
 * collecting. A coordinator serving a few hundred requests a second sat at 150-270 MiB resident with 15-30 MiB of
 * live objects. With a 2 MiB semi-space and a 1 GiB old-space ceiling (V8 collects earlier the lower the ceiling) it
 * stays near 110 MiB for a few percent more CPU spent collecting (docs/performance.md). V8 reads both once, when the
 * process starts, so `coordinator serve` re-executes itself in place (same pid, stdio and environment) with them;
 * a flag the operator set (command line or NODE_OPTIONS) wins over ours.
 */
export const HEAP_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=1024'];

/** True when argv (after the executable and script) is `[global options] coordinator serve ...`. */
export function isServe(argv: readonly string[]): boolean {
  const at = argv.indexOf('coordinator');
  return at >= 0 && argv[at + 1] === 'serve' && argv.slice(0, at).every((arg) => arg.startsWith('-'));
}

/** The argv to re-execute `coordinator serve` with; undefined when nothing is missing, or the runtime has no execve. */
export function heapReexec(process: Pick<NodeJS.Process, 'execPath' | 'execArgv' | 'argv' | 'env'> & { execve?: unknown }): string[] | undefined {
  if (typeof process.execve !== 'function' || !isServe(process.argv.slice(2))) return undefined;
  const present = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const missing = HEAP_FLAGS.filter((flag) => !present.some((arg) => arg.startsWith(flag.slice(0, flag.indexOf('=')))));
  if (missing.length === 0) return undefined;
  return [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)];
}

import fc from 'fast-check';

/**
 * Every property and fuzz test runs with one fixed seed and a fixed number of runs, so `npm test` is reproducible
 * and its time is bounded. A failure prints its seed, path and shrunk counterexample; to dig deeper, rerun with
 * CRABBOX_FUZZ_SEED=<n> and/or CRABBOX_FUZZ_RUNS=<factor> (a multiplier, e.g. 20 for a long local session).
 */
export const FUZZ_SEED = Number(process.env.CRABBOX_FUZZ_SEED ?? 20260115);
const FACTOR = Math.max(0.01, Number(process.env.CRABBOX_FUZZ_RUNS ?? 1) || 1);

export function fuzzParams<T>(numRuns: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(numRuns * FACTOR)) };
}

/** Strings a hostile or confused caller sends: any unicode, control characters, paths, shell and encoding tricks. */
export function hostileString(maxLength = 80): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength, unit: 'binary' }),
    fc.string({ maxLength }),
    fc.constantFrom('', ' ', '..', '../..', '/etc/passwd', '..%2F..%2Fetc', '%00', '\u0000', '\n', 'a\nb', '$(id)', '`id`', ';rm -rf /', '|sh', '&&', '*', '~', '-rf', '--help',
      'cbx_', 'cbx_000000000000', 'CBX_ABCDEFABCDEF', 'cbx_abcdefabcdef/..', 'blue-lobster', 'blue-lobster-1a2b', 'blue-lobster/../x', ' blue-lobster ', 'run_000000000000',
      '\u202e', '\uFEFF', '\uD800', 'NaN', '-1', '1e309', '0x10', '9'.repeat(30), 'null', 'true', '{}', '[]', '%', '%%', '%zz', '?', '#', '\\', '\r\n'),
  );
}

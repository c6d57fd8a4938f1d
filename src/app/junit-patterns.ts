/** The JUnit path rules (`--junit`, `run.junit`), for a face that checks its flags before it calls `run`. */
export { validateJUnitPattern } from '../results/globs.ts';

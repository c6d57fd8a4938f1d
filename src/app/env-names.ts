/** The `--env NAME` rule (a name only, never a value), for a face that checks its flags before it calls `run`. */
export { parseEnvFlag } from '../env/session.ts';

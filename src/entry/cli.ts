// The `crabbox` executable: wires the real process into the CLI and exits with its code.
import { main } from '../cli/main.ts';
import { offsetClock } from '../cli/clock-offset.ts';

const code = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  ...offsetClock(process.env),
});
process.exitCode = code;

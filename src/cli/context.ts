import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../domain/clock.ts';
import type { Interrupts } from './interrupts.ts';

/** Everything a command may touch of the outside world, injected so tests can run commands in-process. */
export interface CliIO {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  clock?: Clock;
  /** When the process started, on the clock's time line (run timings count from here); default: when main ran. */
  startedAt?: number;
  /** Ctrl-C and SIGTERM for this command (the real process's, or relayed by the warm runner); none in tests. */
  interrupts?: Interrupts;
}

export interface CliContext extends Required<Omit<CliIO, 'argv' | 'startedAt' | 'interrupts'>> {
  /** When the process started (see CliIO); set by main. */
  startedAt?: number | undefined;
  interrupts?: Interrupts | undefined;
  /** The exit code the command asks for (commands set it instead of calling process.exit). */
  exitCode: number;
  /** Global flags. */
  json: boolean;
  debug: boolean;
  /** Writes a diagnostic line to stderr, redacted. */
  info(line: string): void;
  /** Writes a debug line to stderr when --debug is on, redacted. */
  log(line: string): void;
}

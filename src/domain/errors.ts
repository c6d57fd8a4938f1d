import { ExitCode } from './exit-codes.ts';

/**
 * The one catalog of error codes. Each code knows its HTTP status (coordinator) and its exit code (CLI),
 * so an error renders the same way wherever it surfaces.
 */
export const ErrorCatalog = {
  bad_request: { status: 400, exit: ExitCode.usage },
  invalid_config: { status: 400, exit: ExitCode.config },
  invalid_input: { status: 400, exit: ExitCode.dataError },
  unauthorized: { status: 401, exit: ExitCode.noPermission },
  forbidden: { status: 403, exit: ExitCode.noPermission },
  not_found: { status: 404, exit: ExitCode.notFound },
  lease_not_found: { status: 404, exit: ExitCode.notFound },
  run_not_found: { status: 404, exit: ExitCode.notFound },
  method_not_allowed: { status: 405, exit: ExitCode.usage },
  conflict: { status: 409, exit: ExitCode.tempFail },
  lease_expired: { status: 409, exit: ExitCode.tempFail },
  lease_not_active: { status: 409, exit: ExitCode.tempFail },
  login_expired: { status: 410, exit: ExitCode.tempFail },
  payload_too_large: { status: 413, exit: ExitCode.dataError },
  cap_reached: { status: 429, exit: ExitCode.tempFail },
  rate_limited: { status: 429, exit: ExitCode.tempFail },
  busy: { status: 409, exit: ExitCode.tempFail },
  timeout: { status: 504, exit: ExitCode.tempFail },
  provider_error: { status: 502, exit: ExitCode.unavailable },
  provider_capacity: { status: 503, exit: ExitCode.unavailable },
  /** Every host of a static (ssh) pool is claimed by another lease: try again later. */
  no_free_host: { status: 503, exit: ExitCode.tempFail },
  unavailable: { status: 503, exit: ExitCode.unavailable },
  /** A warm pool with no idle machine that answers 503 (`onEmpty: wait503`) instead of making a cold one. */
  pool_empty: { status: 503, exit: ExitCode.tempFail },
  ssh_failed: { status: 502, exit: ExitCode.sshFailed },
  host_key_mismatch: { status: 502, exit: ExitCode.sshFailed },
  sync_failed: { status: 502, exit: ExitCode.syncFailed },
  missing_tool: { status: 500, exit: ExitCode.osError },
  interrupted: { status: 499, exit: ExitCode.interrupted },
  internal: { status: 500, exit: ExitCode.internal },
} as const satisfies Record<string, { status: number; exit: number }>;

export type ErrorCode = keyof typeof ErrorCatalog;

export interface CrabboxErrorOptions {
  /** What the user can do about it, one line. */
  hint?: string;
  cause?: unknown;
  /** Overrides the catalog's exit code (rare). */
  exitCode?: number;
  /** Extra machine-readable detail for JSON output. */
  detail?: Record<string, unknown>;
}

/** An expected failure: it carries a code from the catalog and renders itself as one line. */
export class CrabboxError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly detail: Record<string, unknown> | undefined;
  readonly #exitCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: CrabboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrabboxError';
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
    this.#exitCode = options.exitCode;
  }

  get status(): number {
    return ErrorCatalog[this.code].status;
  }

  get exitCode(): number {
    return this.#exitCode ?? ErrorCatalog[this.code].exit;
  }

  /** The wire shape used by the coordinator and by `--json` errors. */
  toJSON(): { error: ErrorCode; message: string; hint?: string; detail?: Record<string, unknown> } {
    return {
      error: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.detail ? { detail: this.detail } : {}),
    };
  }
}

export function isCrabboxError(value: unknown): value is CrabboxError {
  return value instanceof CrabboxError;
}

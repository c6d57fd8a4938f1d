import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { describeTimingProblem, FLAG_NAMES, type TimingField } from '../domain/lease-timing.ts';
import { NETWORK_HINT, networkCause } from '../domain/network-error.ts';

const API_FIELDS: Record<string, TimingField> = { ttlSeconds: 'ttl', idleTimeoutSeconds: 'idleTimeout' };
const AWS_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout']);

interface HetznerErrorShape { name: string; status: number; code: string; message: string }

function isHetznerError(error: unknown): error is HetznerErrorShape {
  return error instanceof Error && error.name === 'HetznerApiError' && typeof (error as unknown as HetznerErrorShape).status === 'number';
}

/**
 * Puts a failure in the user's terms before it is shown: a coordinator's refusal of a request-body field names the
 * CLI flag instead, a network failure to a cloud API is "unavailable" (69) with a network hint rather than an
 * internal error, missing AWS credentials say how to set them. Anything else is returned as it is.
 */
export function explainError(error: unknown): unknown {
  if (isCrabboxError(error)) {
    const field = typeof error.detail?.field === 'string' ? API_FIELDS[error.detail.field] : undefined;
    if (error.code === 'bad_request' && field && typeof error.detail?.seconds === 'number' && typeof error.detail.min === 'number' && typeof error.detail.max === 'number') {
      const problem = { field, seconds: error.detail.seconds, min: error.detail.min, max: error.detail.max, overTtl: error.detail.overTtl === true };
      return new CrabboxError('bad_request', `${describeTimingProblem(problem, FLAG_NAMES)} (the coordinator's limit)`, { cause: error });
    }
    const aws = typeof error.detail?.awsError === 'string' ? error.detail.awsError : undefined;
    if (aws === 'CredentialsProviderError') {
      return new CrabboxError('invalid_config', 'no AWS credentials found for the aws provider', {
        cause: error,
        hint: 'set AWS_PROFILE (see `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      });
    }
    if (aws && AWS_NETWORK.has(aws) && !error.hint) return new CrabboxError('unavailable', `cannot reach the AWS API: ${networkCause(error.cause) ?? aws}`, { cause: error, hint: NETWORK_HINT });
    return error;
  }
  if (isHetznerError(error)) {
    if (error.status === 0 || error.status >= 500 || error.status === 429) {
      const why = error.status === 0 ? (error.code === 'timeout' ? 'no answer in time' : 'network failure') : `HTTP ${error.status}`;
      return new CrabboxError('unavailable', `cannot reach the Hetzner Cloud API (${why}): ${error.message}`, { cause: error, hint: error.status === 0 ? NETWORK_HINT : 'Hetzner Cloud has a problem; try again later' });
    }
    if (error.status === 401 || error.status === 403) return new CrabboxError('unauthorized', `Hetzner Cloud refused the API token: ${error.message}`, { cause: error, hint: 'check HCLOUD_TOKEN (a read/write token of your project)' });
    return new CrabboxError('provider_error', error.message, { cause: error });
  }
  const cause = networkCause(error);
  if (cause) return new CrabboxError('unavailable', `network failure: ${cause}`, { cause: error, hint: NETWORK_HINT });
  return error;
}

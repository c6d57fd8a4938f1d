import { EC2Client } from '@aws-sdk/client-ec2';

export interface Ec2ClientOptions {
  region: string;
  /** Overrides the EC2 endpoint (tests point it at the local fake). */
  endpoint?: string | undefined;
  /** Only for tests against the fake; real use takes credentials from the AWS chain (env, profile, SSO, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  requestTimeoutMs?: number | undefined;
}

/**
 * The EC2 client Crabbox uses. Retries are off in the SDK (maxAttempts 1): failures are classified by error code
 * in `errors.ts` and retried in `retry.ts`, so a capacity error costs one round trip, not a dozen signed retries.
 */
export function makeEc2Client(options: Ec2ClientOptions): EC2Client {
  return new EC2Client({
    region: options.region,
    maxAttempts: 1,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
  });
}

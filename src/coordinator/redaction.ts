import { redactValue, redactWith } from '../redact/redact.ts';
import type { CoordinatorConfig } from './config.ts';

/**
 * The coordinator's redaction: the shared redaction (patterns and values the process registered) plus the
 * coordinator's own secrets from its config, replaced exactly. Nothing is registered process-wide, so two
 * coordinators in one process or Worker isolate never share secrets or state.
 */
export function scrub(config: CoordinatorConfig, text: string): string {
  return redactWith(text, [config.auth.sharedToken, config.auth.sessionSecret, config.login?.github?.clientSecret, config.sshCa?.signingKey, config.sshHostCa?.signingKey, config.tunnel?.apiToken]);
}

export function scrubValue<T>(config: CoordinatorConfig, value: T): T {
  return redactValue(value, (text) => scrub(config, text));
}

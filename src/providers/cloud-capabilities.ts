import type { ProviderCapabilities } from './provider.ts';

/** The check the runner bootstrap installs on every cloud box (src/bootstrap/files/scripts/crabbox-ready.sh). */
export const READY_COMMAND = 'crabbox-ready';

/**
 * What every bootstrapped cloud provider offers: labels, an injected host key, billing, per-lease objects, a ready
 * check, and tunnel mode (a box with a Cloudflare Tunnel connector and no inbound SSH rule).
 */
export const CLOUD_CAPABILITIES: ProviderCapabilities = Object.freeze({
  labels: true,
  injectsHostKey: true,
  billable: true,
  local: false,
  danglingObjects: true,
  readyCommand: READY_COMMAND,
  tunnel: true,
});

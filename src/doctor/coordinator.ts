import * as z from 'zod';
import { CoordinatorClient } from '../api/client.ts';
import { ENDPOINTS, pathOf } from '../api/endpoints.ts';
import type { Config } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { Check } from './checks.ts';
import { networkCause } from '../domain/network-error.ts';
import { accessFix, accessWall } from '../api/access-wall.ts';

/** Skew beyond this makes lease expiry and token lifetimes misleading. */
export const MAX_SKEW_MS = 60_000;
const TIMEOUT_MS = 5_000;

export interface CoordinatorCheckOptions {
  config: Pick<Config, 'coordinator' | 'owner' | 'org'>;
  clock: Clock;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
  /** Cloudflare Access credentials, sent with every check as the CLI sends them. */
  access?: { headers: Record<string, string>; serviceToken: boolean; userToken: boolean } | undefined;
}

const health = z.object({ ok: z.literal(true) });

/** Coordinator reachability, auth (whoami) and clock skew (its Date header against ours), one check each. */
export async function coordinatorChecks(options: CoordinatorCheckOptions): Promise<Check[]> {
  const c = options.config.coordinator;
  if (!c) return [{ name: 'coordinator', ok: true, kind: 'coordinator', detail: 'none configured (direct mode)' }];
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const checks: Check[] = [];
  const started = options.clock.now();
  let date: string | null = null;
  try {
    const res = await (options.fetch ?? fetch)(`${c.url}${pathOf(ENDPOINTS.health)}`, { headers: { ...options.access?.headers }, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    date = res.headers.get('date');
    const text = await res.text().catch(() => '');
    const wall = accessWall(res, text);
    if (wall) {
      const what = wall.kind === 'login-redirect' ? `redirects to ${wall.team ?? 'the Access login page'}` : `answers HTTP ${res.status} from Access`;
      checks.push({ name: 'coordinator', ok: false, kind: 'coordinator', detail: `${c.url} is behind Cloudflare Access and ${what}`, fix: accessFix(wall, { serviceToken: !!options.access?.serviceToken, userToken: !!options.access?.userToken }) });
      return checks;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const ok = res.ok && health.safeParse(body).success;
    checks.push(ok
      ? { name: 'coordinator', ok: true, kind: 'coordinator', detail: `${c.url} answers (${options.clock.now() - started} ms)` }
      : { name: 'coordinator', ok: false, kind: 'coordinator', detail: `${c.url} answered HTTP ${res.status} to /v1/health`, fix: 'check the URL (`crabbox config show`); is something in front of it?' });
  } catch (error) {
    const err = error as Error;
    const why = err.name === 'TimeoutError' ? `no answer within ${Math.round(timeoutMs / 1000)}s` : (networkCause(error) ?? err.message);
    checks.push({ name: 'coordinator', ok: false, kind: 'coordinator', detail: `cannot reach ${c.url}: ${why}`, fix: 'check the URL and your network, and that the coordinator is running' });
    return checks;
  }
  if (!c.token) {
    checks.push({ name: 'coordinator auth', ok: false, kind: 'coordinator', detail: 'no token stored or in CRABBOX_COORDINATOR_TOKEN', fix: 'run `crabbox login`' });
  } else {
    const client = new CoordinatorClient({ url: c.url, token: c.token, tokenKind: c.tokenKind, owner: options.config.owner, org: options.config.org, timeoutMs, fetch: options.fetch, access: options.access });
    try {
      const who = await client.whoami();
      checks.push({ name: 'coordinator auth', ok: true, kind: 'coordinator', detail: `${who.owner} (org ${who.org}, role ${who.role}, ${who.via})` });
    } catch (error) {
      checks.push({ name: 'coordinator auth', ok: false, kind: 'coordinator', detail: (error as Error).message, fix: 'run `crabbox login` (or check CRABBOX_COORDINATOR_TOKEN)' });
    }
  }
  const theirs = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(theirs)) {
    checks.push({ name: 'clock skew', ok: false, kind: 'coordinator', detail: 'the coordinator sent no Date header', fix: 'check what is in front of the coordinator' });
  } else {
    // The Date header has 1 s resolution and the request took some time: compare with the middle of the request.
    const skew = Math.round((started + options.clock.now()) / 2) - theirs;
    const seconds = Math.round(skew / 1000);
    checks.push(Math.abs(skew) <= MAX_SKEW_MS
      ? { name: 'clock skew', ok: true, kind: 'coordinator', detail: `${seconds}s against the coordinator` }
      : { name: 'clock skew', ok: false, kind: 'coordinator', detail: `this clock is ${Math.abs(seconds)}s ${skew > 0 ? 'ahead of' : 'behind'} the coordinator's`, fix: 'turn on time sync (e.g. `timedatectl set-ntp true`)' });
  }
  return checks;
}

/**
 * Cloudflare Access in front of a coordinator answers before the coordinator does: a redirect to the team's login
 * page (`<team>.cloudflareaccess.com`, an Allow policy) or a bare 403 (a Service Auth policy, or credentials it refused).
 * Neither is the coordinator's own JSON, so the CLI can tell them apart and say what to set.
 */

export interface AccessWall {
  kind: 'login-redirect' | 'forbidden';
  /** The Access team host the redirect named, when it named one. */
  team?: string | undefined;
}

/** Whether a response is Cloudflare Access's rather than the coordinator's; `body` is the text, when read. */
export function accessWall(res: { status: number; headers: Headers }, body?: string): AccessWall | undefined {
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location') ?? '';
    let url: URL | undefined;
    try {
      url = new URL(location, 'http://relative.invalid');
    } catch {
      return undefined;
    }
    if (url.hostname.endsWith('.cloudflareaccess.com') || url.pathname.startsWith('/cdn-cgi/access/')) {
      return { kind: 'login-redirect', team: url.hostname.endsWith('.cloudflareaccess.com') ? url.hostname : undefined };
    }
    return undefined;
  }
  if (res.status === 401 || res.status === 403) {
    const fromCloudflare = res.headers.has('cf-ray') || /cloudflare/i.test(res.headers.get('server') ?? '') || [...res.headers.keys()].some((k) => k.startsWith('cf-access'));
    const ours = body !== undefined && /^\s*\{[\s\S]*"error"\s*:/.test(body);
    // 1010 and friends are Cloudflare's WAF (a blocked user agent), not Access.
    if (fromCloudflare && !ours && !/error code: 10\d\d/.test(body ?? '')) return { kind: 'forbidden' };
  }
  return undefined;
}

/** What to do about an Access wall, given which Access credentials were sent. */
export function accessFix(wall: AccessWall, sent: { serviceToken: boolean; userToken: boolean }): string {
  const people = 'for people: `cloudflared access login <url>`, then CRABBOX_ACCESS_TOKEN=$(cloudflared access token --app <url>) (or CRABBOX_ACCESS_TOKEN_FILE)';
  const automation = 'for automation: a service token in CRABBOX_ACCESS_CLIENT_ID and CRABBOX_ACCESS_CLIENT_SECRET (or CRABBOX_ACCESS_CLIENT_SECRET_FILE)';
  if (wall.kind === 'login-redirect' && sent.serviceToken) return 'Access sent the service token to its login page: the application needs a Service Auth policy that includes this token (an Allow policy never accepts service tokens); see docs/cloudflare.md';
  if (wall.kind === 'login-redirect' && sent.userToken) return 'Access did not accept the Access token (expired, or for another application): run `cloudflared access login <url>` and set CRABBOX_ACCESS_TOKEN again';
  if (wall.kind === 'forbidden' && (sent.serviceToken || sent.userToken)) return 'Access refused the credentials sent: check CRABBOX_ACCESS_CLIENT_ID / the secret, or refresh CRABBOX_ACCESS_TOKEN; the policy must include them (docs/cloudflare.md)';
  return `this coordinator is behind Cloudflare Access: ${people}; ${automation} (docs/cloudflare.md)`;
}

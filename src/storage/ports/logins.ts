/** A browser login's lifecycle: pending -> checking (callback running) -> approved|denied; approved -> delivered once. */
/** `failed`: GitHub had a temporary failure (not a denial); the CLI says to try again. */
export type LoginStatus = 'pending' | 'checking' | 'approved' | 'denied' | 'failed' | 'delivered';

export interface LoginRecord {
  id: string;
  /** SHA-256 (hex) of the OAuth `state` and of the CLI's secret; the plain values are never stored. */
  stateHash: string;
  secretHash: string;
  /** The rate-limit bucket of the start request's address: the IPv4 address, or the IPv6 /64. */
  source: string;
  /** The client address the start request came from (shown on the confirmation page). */
  address?: string | undefined;
  /** Three words the CLI printed; the confirmation page shows them. */
  phrase?: string | undefined;
  /** When a browser confirmed the login (before it was sent to GitHub). */
  confirmedAt?: number | undefined;
  /** SHA-256 of the cookie given to the browser that confirmed; only that browser's callback counts. */
  browserHash?: string | undefined;
  /** The CLI's loopback listener port, when it has one. */
  port?: number | undefined;
  status: LoginStatus;
  /**
   * `cli`: started by `crabbox login`, ends in a user token the CLI polls for. `web`: started by the dashboard's sign-in
   * page in the browser that finishes it, ends in a browser session (no token, nothing to poll).
   */
  kind: 'cli' | 'web';
  createdAt: number;
  expiresAt: number;
  owner?: string | undefined;
  org?: string | undefined;
  login?: string | undefined;
  /** Why a login was denied, shown to the CLI. */
  message?: string | undefined;
  /** SHA-256 of the one-time code the browser hands to the CLI after an approved callback. */
  codeHash?: string | undefined;
}

export type NewLogin = Omit<LoginRecord, 'status' | 'kind' | 'owner' | 'org' | 'login' | 'message' | 'codeHash' | 'confirmedAt' | 'browserHash'> & { kind?: LoginRecord['kind'] | undefined };
export type LoginPatch = Pick<LoginRecord, 'status'> & Partial<Pick<LoginRecord, 'owner' | 'org' | 'login' | 'message' | 'codeHash'>>;
export interface LoginLimits {
  maxPending: number;
  maxPendingPerSource: number;
  now: number;
}

/** Pending browser logins (hashes only), each moved on by compare-and-set. */
export interface LoginStore {
  /** Stores a pending login unless the bounds on unexpired logins (total, per source) are reached; prunes long-expired rows. */
  createLogin(login: NewLogin, limits: LoginLimits): Promise<'created' | 'too-many' | 'too-many-from-source'>;
  getLogin(id: string): Promise<LoginRecord | undefined>;
  getLoginByState(stateHash: string): Promise<LoginRecord | undefined>;
  /** Marks a pending, unconfirmed login confirmed by one browser (compare-and-set: a second confirmation gets undefined). */
  confirmLogin(id: string, input: { browserHash: string; now: number }): Promise<LoginRecord | undefined>;
  /** Moves a login on only from one of `from` (compare-and-set): a second callback or delivery gets undefined. */
  updateLogin(id: string, from: LoginStatus[], patch: LoginPatch): Promise<LoginRecord | undefined>;
}

/**
 * A dashboard browser session. The cookie carries `id.secret`; the store keeps the secret's SHA-256 only, so a read of
 * the table does not let anyone act as the session. `expiresAt` slides with use; `absoluteExpiresAt` never moves.
 */
export interface WebSessionRecord {
  /** 24 hex. */
  id: string;
  /** SHA-256 (hex) of the cookie's secret. */
  secretHash: string;
  owner: string;
  org: string;
  /** The GitHub login that signed in. */
  login: string;
  /** The role it was granted at login; a session whose owner's role has changed since is ended, not upgraded. */
  role: 'user' | 'maintainer' | 'admin';
  /** The Cloudflare Access identity it was made under; every later request must carry the same one. */
  accessIdentity?: string | undefined;
  /** The client address and (shortened) user agent at login, for the session list. */
  address?: string | undefined;
  userAgent?: string | undefined;
  createdAt: number;
  lastSeenAt: number;
  /** The idle deadline: moved forward by use, never past `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
}

/** Browser sessions: made at login, renewed by use, listed and revoked by their owner, deleted at logout. */
export interface WebSessionStore {
  /** Stores a new session and deletes every session already past its deadline. */
  createWebSession(session: WebSessionRecord, now: number): Promise<void>;
  getWebSession(id: string): Promise<WebSessionRecord | undefined>;
  /** Records use and moves the idle deadline; false if the session is gone. */
  touchWebSession(id: string, update: { lastSeenAt: number; expiresAt: number }): Promise<boolean>;
  /** Deletes a session (only the owner's, when `owner` is given); false if there was none. */
  deleteWebSession(id: string, owner?: string): Promise<boolean>;
  /** The owner's unexpired sessions, newest first. */
  listWebSessions(owner: string, now: number): Promise<WebSessionRecord[]>;
}

-- The dashboard's browser sessions (docs/dashboard.md, docs/security.md "The browser session"). The cookie holds
-- `id.secret`; a row keeps only the SHA-256 of the secret, who the session acts as (owner, org, GitHub login, the
-- role it was granted), the Cloudflare Access identity it was made under, and its two deadlines: `expires_at` slides
-- with use (idle), `absolute_expires_at` never moves. Logout and revoke delete the row.
-- A login started by the dashboard itself (kind `web`) ends in such a session instead of a token for the CLI.

ALTER TABLE logins ADD COLUMN kind TEXT NOT NULL DEFAULT 'cli';

CREATE TABLE web_sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  owner TEXT NOT NULL,
  org TEXT NOT NULL,
  login TEXT NOT NULL,
  role TEXT NOT NULL,
  access_identity TEXT,
  address TEXT,
  user_agent TEXT,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  absolute_expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_owner ON web_sessions (owner, created_at);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

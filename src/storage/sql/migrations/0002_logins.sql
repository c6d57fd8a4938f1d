-- Pending browser logins (crabbox login). Short-lived: a row lives 10 minutes plus a grace hour, then is pruned.
-- Holds hashes only (of the OAuth state, the CLI's secret and the one-time code the browser hands the CLI), never a
-- token: the token is minted on delivery.

CREATE TABLE logins (
  id TEXT PRIMARY KEY,
  state_hash TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  source TEXT NOT NULL,
  port INTEGER,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  owner TEXT,
  org TEXT,
  login TEXT,
  message TEXT,
  code_hash TEXT
);
CREATE INDEX logins_source ON logins (source, expires_at);
CREATE INDEX logins_expires ON logins (expires_at);

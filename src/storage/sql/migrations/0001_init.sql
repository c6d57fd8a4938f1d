-- Crabbox fleet store, version 1. Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Times are epoch milliseconds (BIGINT); booleans are 0/1 INTEGERs; small structured values are JSON TEXT.

CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Monotonic counters (event sequence), bumped with UPDATE ... RETURNING inside the caller's transaction.
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('events', 0);

CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL,
  owner TEXT NOT NULL,
  org TEXT NOT NULL,
  provider TEXT NOT NULL,
  profile TEXT,
  machine_class TEXT,
  machine_type TEXT,
  state TEXT NOT NULL,
  keep INTEGER NOT NULL DEFAULT 0,
  ttl_seconds INTEGER NOT NULL,
  idle_timeout_seconds INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  last_touched_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  ended_at BIGINT,
  end_reason TEXT,
  idempotency_key TEXT NOT NULL,
  provider_id TEXT,
  host TEXT,
  ports TEXT,
  ssh_user TEXT,
  work_root TEXT,
  host_key TEXT,
  region TEXT,
  hourly_price DOUBLE PRECISION NOT NULL DEFAULT 0,
  reserved_cost DOUBLE PRECISION NOT NULL DEFAULT 0,
  heartbeat_logged_at BIGINT,
  cleanup_state TEXT NOT NULL DEFAULT 'none',
  cleanup_attempts INTEGER NOT NULL DEFAULT 0,
  cleanup_next_at BIGINT,
  cleanup_last_error TEXT,
  machine_deleted_at BIGINT,
  CONSTRAINT leases_idempotency UNIQUE (owner, idempotency_key)
);
CREATE INDEX leases_state_expires ON leases (state, expires_at);
CREATE INDEX leases_owner_created ON leases (owner, created_at, id);
CREATE INDEX leases_created ON leases (created_at, id);
CREATE INDEX leases_slug ON leases (slug, owner);
CREATE INDEX leases_cleanup ON leases (cleanup_state, cleanup_next_at);
CREATE INDEX leases_provider_id ON leases (provider, provider_id);

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  lease_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  org TEXT NOT NULL,
  command TEXT,
  state TEXT NOT NULL,
  exit_code INTEGER,
  created_at BIGINT NOT NULL,
  ended_at BIGINT,
  timings TEXT,
  log_tail TEXT,
  log_truncated INTEGER NOT NULL DEFAULT 0,
  junit TEXT
);
CREATE INDEX runs_owner_created ON runs (owner, created_at, id);
CREATE INDEX runs_created ON runs (created_at, id);
CREATE INDEX runs_lease_created ON runs (lease_id, created_at, id);

CREATE TABLE events (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  owner TEXT,
  org TEXT,
  lease_id TEXT,
  run_id TEXT,
  provider_id TEXT,
  data TEXT
);
CREATE INDEX events_owner_seq ON events (owner, seq);
CREATE INDEX events_lease_seq ON events (lease_id, seq);
CREATE INDEX events_at ON events (at);

-- Lists, caps and sweeps read live leases (provisioning, active) only. Partial indexes on them stay as small as the
-- live fleet, so those reads do not grow with lease history, and a lease that ended leaves them (fewer index pages
-- written per state change). Queries name the live states literally, `state IN ('provisioning', 'active')`,
-- so the planner (SQLite and PostgreSQL) can prove the index applies.

CREATE INDEX leases_live_owner ON leases (owner, created_at, id) WHERE state IN ('provisioning', 'active');
CREATE INDEX leases_live_created ON leases (created_at, id) WHERE state IN ('provisioning', 'active');
CREATE INDEX leases_live_expires ON leases (expires_at) WHERE state IN ('provisioning', 'active');
DROP INDEX leases_state_expires;

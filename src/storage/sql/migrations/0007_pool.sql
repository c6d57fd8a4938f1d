-- Warm pools (issue 14). A lease records the pool it drew its machine from and whether a run on it forwarded env
-- values (such a machine is deleted, never reused). A machine records what it reserves against the spend caps (a pool
-- machine: hourly price x the pool's maxAgeHours, when it is made) and the token its provider create is idempotent by.

ALTER TABLE leases ADD COLUMN pool TEXT;
ALTER TABLE leases ADD COLUMN env_forwarded INTEGER NOT NULL DEFAULT 0;

ALTER TABLE machines ADD COLUMN hourly_price DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE machines ADD COLUMN reserved_cost DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE machines ADD COLUMN token TEXT;

CREATE INDEX machines_pool_claim ON machines (pool, state, created_at);

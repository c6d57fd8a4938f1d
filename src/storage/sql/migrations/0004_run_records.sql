-- Run records say what the CLI's own records say (docs/results.md), so history, logs and results print the same in
-- both modes: the lease's slug and provider, whose exit code it is, the signal of an interrupted run (state
-- `interrupted`; crabbox failures are state `error`), the command's own exit code, and whether the sync was skipped.
-- The JUnit summary (JSON in `junit`) is now the full summary with failed cases as objects; older rows keep the
-- compact form and are read as such.

ALTER TABLE runs ADD COLUMN slug TEXT;
ALTER TABLE runs ADD COLUMN provider TEXT;
ALTER TABLE runs ADD COLUMN source TEXT;
ALTER TABLE runs ADD COLUMN interrupted TEXT;
ALTER TABLE runs ADD COLUMN remote_exit_code INTEGER;
ALTER TABLE runs ADD COLUMN sync_skipped INTEGER;

UPDATE runs SET
  slug = (SELECT leases.slug FROM leases WHERE leases.id = runs.lease_id),
  provider = (SELECT leases.provider FROM leases WHERE leases.id = runs.lease_id)
WHERE slug IS NULL;

-- `history --state <state>`: the owner's runs in one state, newest first.
CREATE INDEX runs_owner_state_created ON runs (owner, state, created_at, id);

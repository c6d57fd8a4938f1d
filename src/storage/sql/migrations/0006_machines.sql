-- Machines apart from leases (issue 14). A machine has its own record and states (src/domain/machine.ts); a lease is an
-- assignment of one machine (`leases.machine_id`). Where the machine is (provider id, host, ports, host key, region)
-- and its deletion bookkeeping (attempts, next try or claim, last error) move from the lease to the machine; the lease
-- keeps how it logs in (ssh_user, work_root) and the type it is billed for.
--
-- Every lease whose machine the provider knows (a provider id), and every lease still provisioning, gets a machine
-- `mch_<the lease id's 12 hex>`, in the state its cleanup bookkeeping says: done -> deleted, pending -> deleting,
-- an active lease -> assigned, a provisioning one -> provisioning, an ended lease never queued -> deleting (due when it
-- ended). No coordinator may run an older version against the database afterwards.

CREATE TABLE machines (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  provider_id TEXT,
  machine_class TEXT,
  machine_type TEXT,
  region TEXT,
  host TEXT,
  ports TEXT,
  admin_user TEXT,
  work_root TEXT,
  host_key TEXT,
  labels TEXT,
  state TEXT NOT NULL,
  state_reason TEXT,
  pool TEXT,
  lease_id TEXT,
  created_at BIGINT NOT NULL,
  state_changed_at BIGINT NOT NULL,
  last_assigned_at BIGINT,
  assignments INTEGER NOT NULL DEFAULT 0,
  delete_attempts INTEGER NOT NULL DEFAULT 0,
  delete_next_at BIGINT,
  delete_last_error TEXT,
  deleted_at BIGINT
);
CREATE INDEX machines_state_next ON machines (state, delete_next_at);
CREATE INDEX machines_state_changed ON machines (state, state_changed_at);
CREATE INDEX machines_provider_id ON machines (provider, provider_id);
CREATE INDEX machines_created ON machines (created_at, id);
CREATE INDEX machines_lease ON machines (lease_id);
CREATE INDEX machines_pool_state ON machines (pool, state);

INSERT INTO machines (id, provider, provider_id, machine_class, machine_type, region, host, ports, admin_user, work_root, host_key,
  state, state_reason, lease_id, created_at, state_changed_at, last_assigned_at, assignments, delete_attempts, delete_next_at,
  delete_last_error, deleted_at)
SELECT 'mch_' || substr(id, 5), provider, provider_id, machine_class, machine_type, region, host, ports, ssh_user, work_root, host_key,
  CASE
    WHEN cleanup_state = 'done' THEN 'deleted'
    WHEN cleanup_state = 'pending' THEN 'deleting'
    WHEN state = 'active' THEN 'assigned'
    WHEN state = 'provisioning' THEN 'provisioning'
    ELSE 'deleting'
  END,
  CASE WHEN state IN ('provisioning', 'active') THEN NULL ELSE 'lease-' || state END,
  id, created_at,
  COALESCE(machine_deleted_at, ended_at, created_at),
  CASE WHEN host IS NOT NULL THEN created_at END,
  CASE WHEN host IS NOT NULL THEN 1 ELSE 0 END,
  cleanup_attempts,
  CASE
    WHEN cleanup_state = 'pending' THEN cleanup_next_at
    WHEN cleanup_state = 'none' AND state NOT IN ('provisioning', 'active') THEN COALESCE(ended_at, created_at)
  END,
  cleanup_last_error, machine_deleted_at
FROM leases
WHERE provider_id IS NOT NULL OR state = 'provisioning';

ALTER TABLE leases ADD COLUMN machine_id TEXT;
UPDATE leases SET machine_id = 'mch_' || substr(id, 5) WHERE provider_id IS NOT NULL OR state = 'provisioning';
CREATE INDEX leases_machine ON leases (machine_id);

DROP INDEX leases_cleanup;
DROP INDEX leases_provider_id;
ALTER TABLE leases DROP COLUMN provider_id;
ALTER TABLE leases DROP COLUMN host;
ALTER TABLE leases DROP COLUMN ports;
ALTER TABLE leases DROP COLUMN host_key;
ALTER TABLE leases DROP COLUMN region;
ALTER TABLE leases DROP COLUMN cleanup_state;
ALTER TABLE leases DROP COLUMN cleanup_attempts;
ALTER TABLE leases DROP COLUMN cleanup_next_at;
ALTER TABLE leases DROP COLUMN cleanup_last_error;
ALTER TABLE leases DROP COLUMN machine_deleted_at;

-- Machine events (machine.provisioned, .assigned, .drained, .deleted) name their machine.
ALTER TABLE events ADD COLUMN machine_id TEXT;
UPDATE events SET machine_id = 'mch_' || substr(lease_id, 5)
WHERE type LIKE 'machine.%' AND lease_id IN (SELECT id FROM leases WHERE machine_id IS NOT NULL);
CREATE INDEX events_machine_seq ON events (machine_id, seq);

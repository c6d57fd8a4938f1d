-- Sudo for a lease user only where the coordinator's own config grants it (decision 0060): a lease records whether
-- its user was given sudo, so its warm pool machine is deleted after it, never reused (root could have changed anything).
ALTER TABLE leases ADD COLUMN sudo INTEGER NOT NULL DEFAULT 0;

-- Browser login confirmation (issue 22 finding 6). Before the coordinator sends a browser to GitHub it shows when and
-- from where the login started and a phrase the CLI printed; the person confirms with a POST, and the browser that
-- confirmed gets a cookie whose hash is kept here. The callback is accepted only from that browser.
-- `source` stays the rate-limit bucket (an IPv4 address or an IPv6 /64); `address` is the client address shown.

ALTER TABLE logins ADD COLUMN address TEXT;
ALTER TABLE logins ADD COLUMN phrase TEXT;
ALTER TABLE logins ADD COLUMN confirmed_at BIGINT;
ALTER TABLE logins ADD COLUMN browser_hash TEXT;

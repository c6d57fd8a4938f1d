-- How a machine is reached (issue 20, docs/tunnel.md): NULL for direct (every machine before this), else the transport
-- as JSON, e.g. {"kind":"cloudflare","hostname":"mch-0123456789ab.boxes.example.com"} for a box behind a Cloudflare Tunnel.
ALTER TABLE machines ADD COLUMN transport TEXT;

/**
 * The parts of Hetzner Cloud API objects Crabbox reads (field names as in hcloud-go's `hcloud/schema`; the full
 * published shapes are in `fixtures/hcloud-schema.json`, which the conformance test checks requests and answers against).
 */

export interface HAction {
  id: number;
  command: string;
  status: 'running' | 'success' | 'error';
  progress: number;
  error: { code: string; message: string } | null;
}

export interface HServer {
  id: number;
  name: string;
  status: 'initializing' | 'starting' | 'running' | 'stopping' | 'off' | 'deleting' | 'migrating' | 'rebuilding' | 'unknown';
  created: string;
  labels: Record<string, string>;
  server_type: { name: string };
  /** Where the server runs. The API replaced `datacenter` with `location` (removed from servers after 2026-07-01). */
  location: { name: string } | null;
  public_net: { ipv4: { ip: string } | null; firewalls?: { id: number; status: string }[] };
}

export interface HSshKey {
  id: number;
  name: string;
  public_key: string;
  fingerprint: string;
  labels: Record<string, string>;
  created: string;
}

export interface HFirewallRule {
  direction: 'in' | 'out';
  protocol: 'tcp' | 'udp' | 'icmp' | 'esp' | 'gre';
  port?: string;
  source_ips: string[];
  destination_ips?: string[];
  description?: string;
}

export interface HFirewall {
  id: number;
  name: string;
  labels: Record<string, string>;
  created: string;
  rules: HFirewallRule[];
  applied_to: { type: 'server' | 'label_selector'; server?: { id: number } }[];
}

export interface HPrice {
  location: string;
  price_hourly: { net: string; gross: string };
}

export interface HServerType {
  id: number;
  name: string;
  cores: number;
  memory: number;
  disk: number;
  prices: HPrice[];
}

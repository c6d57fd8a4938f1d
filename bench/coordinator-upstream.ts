// Upstream's coordinator figures: its Worker in local workerd on the same 2-core machine kind, driven by the same
// fixed workloads over loopback HTTP (medians of 3 interleaved repetitions), from the table in issue 19. They are the
// floors of the coordinator targets: throughputs must reach 3x these, latencies a third.
export const UPSTREAM = {
  /** Lease create+release cycles per second. */
  leaseCycles: { 1: 88.7, 8: 102 } as Record<number, number>,
  /** Heartbeats per second and their p99 (ms) at 64 clients. */
  heartbeat64: { perSecond: 793, p99Ms: 360 },
  /** Run create+finish pairs (4 KiB log) per second. */
  runPairs: { 1: 347, 8: 561 } as Record<number, number>,
  /** GET /v1/leases with 100 leases, ms. */
  listLeases: { p50Ms: 1.15, p99Ms: 1.44 },
  /** RSS after 10,000 runs stored over HTTP, MiB. */
  rssAfter10kRunsMiB: 287,
};

/** How much better than upstream every coordinator figure must be. */
export const FACTOR = 3;

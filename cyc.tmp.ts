import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startServe } from './bench/lib/coordinator-process.ts';
import { client, LEASE_BODY } from './bench/coordinator.ts';
const dir = mkdtempSync('/tmp/cyc-');
const token = 'bench-shared-token-0123456789abcdef0123';
const p = await startServe(dir, token);
const call = client(p.url, token);
const c: number[] = [], r: number[] = [];
for (let i = 0; i < 600; i++) {
  const t0 = performance.now();
  const id = (await call('POST', '/v1/leases', LEASE_BODY)).lease.id as string;
  const t1 = performance.now();
  await call('POST', `/v1/leases/${id}/release`);
  const t2 = performance.now();
  if (i >= 100) { c.push(t1 - t0); r.push(t2 - t1); }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(2);
console.log('create p50', med(c), 'release p50', med(r), 'cycles/s', (1000 / (c.reduce((a, b) => a + b) / c.length + r.reduce((a, b) => a + b) / r.length)).toFixed(0));
await p.stop();

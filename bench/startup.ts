// Start-up benchmark: `bin/crabbox --version` against `node -e 0`, median of N runs after warm-up.
// Run: scripts/node bench/startup.ts [runs]. Reports the ratio; the target is within 2x. Not a test: timing varies by machine.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 20);
const bin = fileURLToPath(new URL('../bin/crabbox', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function time(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function measure(args: string[]): number {
  for (let i = 0; i < 3; i++) time(args);
  return median(Array.from({ length: runs }, () => time(args)));
}

const node = measure(['-e', '0']);
const crabbox = measure([bin, '--version']);
const ratio = crabbox / node;
console.log(`node -e 0:           ${node.toFixed(1)} ms (median of ${runs})`);
console.log(`crabbox --version:   ${crabbox.toFixed(1)} ms (median of ${runs})`);
console.log(`ratio:               ${ratio.toFixed(2)}x (target <= 2x) ${ratio <= 2 ? 'ok' : 'SLOW'}`);

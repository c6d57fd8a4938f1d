// The benchmark arithmetic: medians, percentiles, ratios against floors, and the "not available" rendering.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile } from '../bench/lib/stats.ts';
import { rateFigure, renderResults, timeFigure } from '../bench/lib/report.ts';

describe('bench arithmetic', () => {
  it('median of odd and even counts, nearest-rank percentiles, refusal of empty input', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile([7], 99), 7);
    assert.throws(() => median([]));
  });

  it('time ratios are value/floor with an overhead; throughput ratios are floor/value, so >1 is always slower', () => {
    const t = timeFigure({ name: 'x', value: 300, floor: 100, floorName: 'ssh', runs: 3 });
    assert.equal(t.ratio, 3);
    assert.equal(t.overhead, 200);
    const r = rateFigure({ name: 'y', unit: 'MB/s', value: 50, floor: 100, floorName: 'ssh', runs: 3 });
    assert.equal(r.ratio, 2);
    assert.equal(timeFigure({ name: 'z', value: 1, runs: 1 }).ratio, undefined);
  });

  it('renders unavailable sections with their reason and never a number for them', () => {
    const text = renderResults({
      version: 1, date: 'today', quick: true, machine: { cpus: 2, platform: 'linux-x64', node: 'v24' }, leases: [],
      sections: [{ id: 'sync', title: 'Sync', figures: [], unavailable: 'not available: `crabbox run` is not on this branch' }],
    });
    assert.match(text, /sync\. Sync\n {3}not available: `crabbox run` is not on this branch$/);
  });
});

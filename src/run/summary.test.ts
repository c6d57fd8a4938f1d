import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeJUnit } from '../results/junit.ts';
import { runResultJson } from '../api/shapes.ts';
import { formatSeconds, formatSummaryLine, resultObject } from './summary.ts';

describe('formatSummaryLine', () => {
  it('shows skipped sync, command, total and the exit code', () => {
    assert.equal(formatSummaryLine({ timings: { sync: 5, command: 1234, total: 1404 }, syncSkipped: true, exitCode: 0 }), 'sync=skipped command=1.23s total=1.40s exit=0');
  });

  it('shows the sync time when it ran and - for phases that did not happen', () => {
    assert.equal(formatSummaryLine({ timings: { sync: 420, total: 9000 }, syncSkipped: false, exitCode: 74 }), 'sync=0.42s command=- total=9.00s exit=74');
    assert.equal(formatSummaryLine({ timings: {}, syncSkipped: false, exitCode: 137 }), 'sync=- command=- total=- exit=137');
  });

  it('formats seconds with two decimals and refuses nonsense', () => {
    assert.deepEqual([formatSeconds(0), formatSeconds(125_400), formatSeconds(-1), formatSeconds(NaN), formatSeconds(undefined)], ['0.00s', '125.40s', '-', '-', '-']);
  });
});

describe('resultObject', () => {
  it('has the documented shape', () => {
    const junit = summarizeJUnit([{ path: 'r.xml', content: '<testsuite><testcase name="a" time="0.5"/><testcase name="b"><failure/></testcase></testsuite>' }]);
    const result = resultObject({
      exitCode: 1, source: 'remote', runId: 'run_0123456789ab', lease: { id: 'cbx_0123456789ab', slug: 'blue-lobster' },
      timings: { lease: 10.4, wait: 2000, sync: 300, command: 1234.5, release: 50, total: 3600 }, syncSkipped: false, junit,
    });
    assert.deepEqual(result, {
      schema: 'crabbox.run/v1', version: 1, exitCode: 1, source: 'remote', runId: 'run_0123456789ab', lease: { id: 'cbx_0123456789ab', slug: 'blue-lobster' },
      timingsMs: { lease: 10, wait: 2000, sync: 300, command: 1235, release: 50, total: 3600 },
      timings: { lease: 10, wait: 2000, sync: 300, command: 1235, release: 50, total: 3600 }, syncSkipped: false,
      junit: { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 0.5, files: 1, warnings: 0 },
    });
    assert.deepEqual(Object.keys(result), ['schema', 'version', 'exitCode', 'source', 'runId', 'lease', 'timingsMs', 'timings', 'syncSkipped', 'junit']);
    assert.ok(runResultJson.safeParse(result).success, 'matches the one schema');
  });

  it('uses null for what did not happen (crabbox failed before leasing)', () => {
    assert.deepEqual(resultObject({ exitCode: 69, source: 'crabbox', timings: { total: 12 }, syncSkipped: false }), {
      schema: 'crabbox.run/v1', version: 1, exitCode: 69, source: 'crabbox', runId: null, lease: null,
      timingsMs: { lease: null, wait: null, sync: null, command: null, release: null, total: 12 }, timings: { total: 12 }, syncSkipped: false, junit: null,
    });
  });
});

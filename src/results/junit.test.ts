import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearSecrets, registerSecret } from '../redact/redact.ts';
import { JUNIT_LIMITS, summarizeJUnit, type JUnitInputFile } from './junit.ts';

const DATA = fileURLToPath(new URL('./testdata/junit/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('./testdata/junit.golden.json', import.meta.url));

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? xmlFiles(path) : name.endsWith('.xml') ? [path] : [];
  });
}

const shared: JUnitInputFile[] = xmlFiles(DATA).map((path) => ({ path: relative(DATA, path), content: readFileSync(path) }));
const one = (path: string) => summarizeJUnit(shared.filter((f) => f.path === path));

describe('summarizeJUnit over real reports (testdata/junit, from many tools)', () => {
  it('matches the golden summary of every file, one by one and all together', () => {
    const actual = { perFile: Object.fromEntries(shared.map((f) => [f.path, summarizeJUnit([f])])), all: summarizeJUnit(shared) };
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(GOLDEN, 'utf8')));
    assert.ok(shared.length >= 30);
  });

  it('counts nested suites by their cases and names the innermost suite', () => {
    const s = one('nested/junit.xml');
    assert.deepEqual([s.tests, s.passed, s.failures, s.errors, s.skipped, s.time], [5, 2, 3, 0, 0, 150]);
    assert.deepEqual(s.failed.map((f) => `${f.suite}/${f.name}`), ['TestA/A', 'TestB/B', 'packet/A']);
  });

  it('tells failures, errors and skips apart and keeps message, type, file and line', () => {
    const s = one('multiple_failures/test_multiple_errors.xml');
    assert.deepEqual([s.tests, s.failures, s.errors], [3, 1, 1]);
    const x = one('xunit/report_fl_on_f.xml');
    assert.deepEqual(x.failed, [{ kind: 'failure', suite: 'CI basic test', name: 'test_my_sum_fail', file: 'main.c', line: 38, message: 'Expected 2 Was 0', type: 'failure' }]);
    const surefire = one('tests/utils/TEST-action.surefire.report.calc.StringUtilsTest.xml');
    assert.deepEqual([surefire.tests, surefire.passed, surefire.failures, surefire.skipped], [5, 2, 2, 1]);
    assert.match(surefire.failed[0]!.detail!, /at action\.surefire/);
  });

  it('counts disabled tests as skipped, flaky-then-passed as passed, and an empty report as zero tests', () => {
    assert.deepEqual([one('issues/testFailedDisabled.xml').skipped, one('issues/testFailedDisabled.xml').failures], [1, 0]);
    const flaky = one('maven_surefire_flaky/surefire-report.xml');
    assert.deepEqual([flaky.tests, flaky.passed, flaky.failures], [1, 1, 0]);
    const empty = one('cunit/testEmpty.xml');
    assert.deepEqual([empty.tests, empty.files[0]!.status, empty.warnings], [0, 'ok', []]);
  });

  it('decodes entities and non-ASCII text', () => {
    const s = one('tests/email/TEST-action.surefire.report.email.EmailAddressTest.xml');
    assert.ok(s.failed.some((f) => f.message?.includes('ñandú') && true));
    assert.ok(s.failed.some((f) => f.message?.includes('😋')));
    const py = one('python/report.xml');
    assert.ok(py.failed[0]!.detail!.includes(">       assert event['attr'] == 'xyz'"));
  });
});

const report = (cases: string, attrs = '') => `<?xml version="1.0"?>\n<testsuite name="s"${attrs}>${cases}</testsuite>`;

describe('summarizeJUnit bounds and bad input', () => {
  it('warns about a malformed file and still counts the others', () => {
    const s = summarizeJUnit([
      { path: 'good.xml', content: report('<testcase name="a"/><testcase name="b"><failure message="m"/></testcase>') },
      { path: 'bad.xml', content: '<testsuite><testcase name="x"></testsuite>' },
      { path: 'notjunit.xml', content: '<html><body/></html>' },
      { path: 'empty.xml', content: '' },
    ]);
    assert.deepEqual([s.tests, s.failures], [2, 1]);
    assert.deepEqual(s.files.map((f) => f.status), ['ok', 'malformed', 'not_junit', 'malformed']);
    assert.equal(s.warnings.length, 3);
    assert.match(s.warnings[0]!, /^bad\.xml: malformed XML at line 1: /);
    assert.ok(s.warnings.every((w) => !w.includes('\n')));
  });

  it('names the real line of a malformed report: a bad tag, a truncated file, a file with no element', () => {
    const truncated = '<?xml version="1.0"?>\n<testsuites>\n  <testsuite name="x">\n    <testcase name="a"/>\n    <testcase name="b">\n      <failure message="boom">\n';
    const oneOpen = '<testsuites>\n<testsuite name="x">\n<testcase name="a"/>\n</testsuite>\n\n';
    const badClose = '<testsuites>\n<testsuite name="x">\n<testcase name="a">\n</testsuite>\n</testsuites>\n';
    const crlf = badClose.replace(/\n/g, '\r\n');
    const badAttr = '<testsuites>\n<testsuite name="x">\n\n<testcase name=a/>\n</testsuite>\n</testsuites>\n';
    const s = summarizeJUnit([
      { path: 'truncated.xml', content: truncated },
      { path: 'one-open.xml', content: oneOpen },
      { path: 'bad-close.xml', content: badClose },
      { path: 'crlf.xml', content: crlf },
      { path: 'bad-attr.xml', content: badAttr },
      { path: 'text.xml', content: '\nno xml here\n' },
      { path: 'blank.xml', content: '\n\n' },
    ]);
    assert.deepEqual(s.files.map((f) => f.status), Array(7).fill('malformed'));
    assert.deepEqual(s.warnings, [
      'truncated.xml: malformed XML: the file ends at line 6 with <testsuites>, <testsuite>, <testcase>, <failure> still open (cut short?)',
      'one-open.xml: malformed XML: the file ends at line 4 with <testsuites> still open (cut short?)',
      "bad-close.xml: malformed XML at line 4: Expected closing tag 'testcase' (opened in line 3, col 1) instead of closing tag 'testsuite'.",
      "crlf.xml: malformed XML at line 4: Expected closing tag 'testcase' (opened in line 3, col 1) instead of closing tag 'testsuite'.",
      "bad-attr.xml: malformed XML at line 4: Attribute 'name' is without value.",
      "text.xml: malformed XML at line 2: char 'n' is not expected.",
      'blank.xml: malformed XML: no root element (empty or not XML)',
    ]);
  });

  it('skips a report over the per-file cap and reports past the total cap, with warnings', () => {
    const big = Buffer.alloc(JUNIT_LIMITS.fileBytes + 1, 0x20);
    const chunk = Buffer.concat([Buffer.from(report('<testcase name="a"/>')), Buffer.alloc(JUNIT_LIMITS.fileBytes - 200, 0x20)]);
    const files = [{ path: 'huge.xml', content: big }, ...Array.from({ length: 5 }, (_, i) => ({ path: `r${i}.xml`, content: chunk }))];
    const s = summarizeJUnit(files);
    assert.deepEqual(s.files.map((f) => f.status), ['too_large', 'ok', 'ok', 'ok', 'ok', 'skipped']);
    assert.equal(s.tests, 4);
    assert.match(s.warnings.join('\n'), /huge\.xml: skipped, .* per-report cap/);
    assert.match(s.warnings.join('\n'), /r4\.xml: skipped, .* together/);
  });

  it('lists at most 100 failed cases and clips long text', () => {
    const long = 'x'.repeat(10_000);
    const cases = Array.from({ length: 250 }, (_, i) => `<testcase name="t${i}"><failure message="${long}">${long}</failure></testcase>`).join('');
    const s = summarizeJUnit([{ path: 'many.xml', content: report(cases) }]);
    assert.deepEqual([s.failures, s.failed.length, s.failedOmitted], [250, JUNIT_LIMITS.failedCases, 150]);
    assert.ok(s.failed[0]!.message!.length < JUNIT_LIMITS.messageChars + 50);
    assert.ok(s.failed[0]!.detail!.length < JUNIT_LIMITS.detailChars + 50);
    assert.ok(JSON.stringify(s).length < 1_000_000);
  });

  it('reads many entities, UTF-16 and ISO-8859-1 reports', () => {
    const entities = '&lt;&gt;&amp;'.repeat(20_000);
    const s1 = summarizeJUnit([{ path: 'e.xml', content: report(`<testcase name="e"><failure>${entities}</failure></testcase>`) }]);
    assert.equal(s1.failures, 1);
    const text = report('<testcase name="ünï"><failure message="é"/></testcase>');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const latin1 = Buffer.from(text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>'), 'latin1');
    for (const content of [utf16, latin1]) {
      const s = summarizeJUnit([{ path: 'enc.xml', content }]);
      assert.deepEqual([s.failed[0]?.name, s.failed[0]?.message], ['ünï', 'é']);
    }
  });

  it('does not expand entity bombs', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><testsuite><testcase name="x"><failure>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</failure></testcase></testsuite>`;
    const s = summarizeJUnit([{ path: 'bomb.xml', content: bomb }]);
    assert.ok(JSON.stringify(s).length < 20_000);
  });

  it('clips a huge failure body without half-showing a secret at the cut', () => {
    const secret = 'cut-canary-0123456789abcdef';
    registerSecret(secret);
    try {
      const body = `${'x'.repeat(JUNIT_LIMITS.detailChars - 10)}${secret}${'y'.repeat(10_000_000)}`;
      const s = summarizeJUnit([{ path: 'huge-body.xml', content: report(`<testcase name="t"><failure>${body}</failure></testcase>`) }]);
      const detail = s.failed[0]!.detail!;
      assert.ok(detail.length < JUNIT_LIMITS.detailChars + 60);
      assert.ok(!detail.includes(secret.slice(0, 6)), detail.slice(-80));
    } finally {
      clearSecrets();
    }
  });

  it('redacts secrets in failure messages and details', () => {
    registerSecret('junit-canary-8d1f');
    try {
      const s = summarizeJUnit([{ path: 'x.xml', content: report('<testcase name="t"><failure message="token junit-canary-8d1f">API_TOKEN=abc123def</failure></testcase>') }]);
      assert.ok(!JSON.stringify(s).includes('junit-canary-8d1f'));
      assert.ok(!JSON.stringify(s).includes('abc123def'));
    } finally {
      clearSecrets();
    }
  });
});

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { longestSecretLength, redact } from '../redact/redact.ts';
import { decodeXml } from './decode.ts';

/**
 * JUnit XML summaries: counts plus the failed cases, bounded in every dimension so a huge or hostile report can
 * neither blow up a run record nor hide the other reports. One malformed file is a warning; the others still count.
 */
export const JUNIT_LIMITS = {
  /** A report larger than this is skipped with a warning. */
  fileBytes: 16 * 1024 * 1024,
  /** Reports past this running total are skipped with a warning. */
  totalBytes: 64 * 1024 * 1024,
  files: 200,
  failedCases: 100,
  warnings: 50,
  messageChars: 1000,
  detailChars: 4000,
  nameChars: 500,
} as const;

export interface JUnitInputFile {
  path: string;
  content: string | Uint8Array;
  /** The file's size when known without reading it (a report over the caps is then passed with empty content). */
  size?: number;
}

export interface JUnitTotals {
  tests: number;
  passed: number;
  failures: number;
  errors: number;
  skipped: number;
  /** Seconds, summed over test cases (or over suites when a report lists no cases). */
  time: number;
}

export interface JUnitFailedCase {
  kind: 'failure' | 'error';
  suite: string;
  name: string;
  classname?: string;
  file?: string;
  line?: number;
  message?: string;
  type?: string;
  /** The failure body (stack trace, assertion diff), cut to JUNIT_LIMITS.detailChars. */
  detail?: string;
}

export interface JUnitFileResult extends JUnitTotals {
  path: string;
  status: 'ok' | 'malformed' | 'too_large' | 'not_junit' | 'skipped';
}

export interface JUnitSummary extends JUnitTotals {
  files: JUnitFileResult[];
  /** At most JUNIT_LIMITS.failedCases, failures and errors in report order. */
  failed: JUnitFailedCase[];
  /** Failed cases counted but not listed. */
  failedOmitted: number;
  warnings: string[];
}

type Node = Record<string, unknown>;

const ARRAY_TAGS = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped', 'properties', 'property', 'system-out', 'system-err']);
const SKIP_STATUSES = new Set(['disabled', 'skipped', 'skip', 'notrun', 'not_run', 'ignored', 'pending']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (tagName) => ARRAY_TAGS.has(tagName),
  processEntities: { enabled: true, maxTotalExpansions: 10_000_000, maxExpandedLength: 64 * 1024 * 1024 },
  maxNestedTags: 512,
});

/**
 * Redacts and bounds one text. Only a prefix is redacted (for speed on huge bodies); it reaches past the cut by more
 * than the longest registered secret, so no secret that starts before the cut can be half-shown.
 */
function clip(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const reach = max + longestSecretLength() + 256;
  const head = text.length > reach ? text.slice(0, reach) : text;
  const clean = redact(head.replace(/\r\n?/g, '\n')).trim();
  if (clean === '') return undefined;
  if (head !== text) return `${clean.slice(0, max)}… [about ${text.length - max} more characters]`;
  return clean.length > max ? `${clean.slice(0, max)}… [${clean.length - max} more characters]` : clean;
}

function attr(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as Node)[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

function textOf(node: unknown): string {
  if (typeof node === 'string') return node;
  if (!node || typeof node !== 'object') return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(node as Node)) {
    if (key.startsWith('@_')) continue;
    if (key === '#text') parts.push(String(value));
    else for (const child of Array.isArray(value) ? value : [value]) parts.push(textOf(child));
  }
  return parts.join('');
}

function seconds(value: string | undefined): number {
  const n = value === undefined ? NaN : Number(value.replace(/,/g, ''));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

function count(value: string | undefined): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

function asArray(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function emptyTotals(): JUnitTotals {
  return { tests: 0, passed: 0, failures: 0, errors: 0, skipped: 0, time: 0 };
}

interface Walk {
  totals: JUnitTotals;
  cases: number;
  leafSuites: Node[];
  /** Called once per failed case; `build` makes the bounded entry, only when the caller still has room for it. */
  onFailed: (build: () => JUnitFailedCase) => void;
}

function recordCase(tc: Node, suite: string, walk: Walk): void {
  const { totals } = walk;
  walk.cases++;
  totals.tests++;
  totals.time += seconds(attr(tc, 'time'));
  const status = attr(tc, 'status')?.toLowerCase();
  const failure = asArray(tc.failure)[0];
  const error = asArray(tc.error)[0];
  if ((status && SKIP_STATUSES.has(status)) || (!failure && !error && tc.skipped !== undefined)) {
    totals.skipped++;
    return;
  }
  const problem = failure ?? error;
  if (problem === undefined) {
    totals.passed++;
    return;
  }
  const kind = failure !== undefined ? 'failure' : 'error';
  if (kind === 'failure') totals.failures++;
  else totals.errors++;
  walk.onFailed(() => failedCase(tc, problem, kind, suite));
}

function failedCase(tc: Node, problem: unknown, kind: JUnitFailedCase['kind'], suite: string): JUnitFailedCase {
  const body = textOf(problem);
  const line = Number(attr(problem, 'line') ?? attr(tc, 'line'));
  const entry: JUnitFailedCase = {
    kind,
    suite: clip(suite, JUNIT_LIMITS.nameChars) ?? '',
    name: clip(attr(tc, 'name'), JUNIT_LIMITS.nameChars) ?? '(unnamed)',
  };
  const classname = clip(attr(tc, 'classname'), JUNIT_LIMITS.nameChars);
  const file = clip(attr(tc, 'file') ?? attr(problem, 'file'), JUNIT_LIMITS.nameChars);
  const message = clip(attr(problem, 'message') ?? body.trim().split('\n')[0], JUNIT_LIMITS.messageChars);
  const type = clip(attr(problem, 'type'), JUNIT_LIMITS.nameChars);
  const detail = clip(body, JUNIT_LIMITS.detailChars);
  if (classname) entry.classname = classname;
  if (file) entry.file = file;
  if (Number.isInteger(line) && line > 0) entry.line = line;
  if (message) entry.message = message;
  if (type) entry.type = type;
  if (detail) entry.detail = detail;
  return entry;
}

function visit(node: unknown, suite: string, walk: Walk): void {
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Node)) {
    if (key.startsWith('@_') || key === '#text' || key === 'properties' || key === 'system-out' || key === 'system-err') continue;
    for (const child of asArray(value)) {
      if (!child || typeof child !== 'object') continue;
      if (key === 'testcase') recordCase(child as Node, suite, walk);
      else if (key === 'testsuite') {
        if ((child as Node).testsuite === undefined) walk.leafSuites.push(child as Node);
        visit(child, attr(child, 'name') ?? suite, walk);
      } else visit(child, suite, walk);
    }
  }
}

/** Counts from suite attributes, for reports that list no test cases (summary-only writers). */
function totalsFromSuites(suites: Node[]): JUnitTotals {
  const totals = emptyTotals();
  for (const s of suites) {
    totals.tests += count(attr(s, 'tests'));
    totals.failures += count(attr(s, 'failures'));
    totals.errors += count(attr(s, 'errors'));
    totals.skipped += count(attr(s, 'skipped') ?? attr(s, 'skips')) + count(attr(s, 'disabled'));
    totals.time += seconds(attr(s, 'time'));
  }
  totals.passed = Math.max(0, totals.tests - totals.failures - totals.errors - totals.skipped);
  return totals;
}

/** The line of the text's last non-blank character: where a truncated report really ends. */
function lastLine(text: string): number {
  return text.trimEnd().split(/\r\n|\r|\n/).length;
}

/**
 * One line saying what is wrong with a report and where. The validator reports the true line of a bad tag or
 * attribute, but for a file that ends with tags still open it says line 1 (or the line where the outermost one
 * opened), which points away from the problem: the end of the file. A document without any element has no line.
 */
export function malformedMessage(text: string, err: { code: string; msg: string; line: number }): string {
  const msg = err.msg.split('\n')[0]!;
  if (err.code === 'InvalidXml' && msg === 'Start tag expected.') return 'malformed XML: no root element (empty or not XML)';
  const open = err.code === 'InvalidXml' && /^Invalid '\[.*\]' found\.$/.test(msg)
    ? (/^Invalid '(.*)' found\.$/.exec(msg)![1]!.match(/"([^"]*)"/g) ?? []).map((t) => t.slice(1, -1))
    : err.code === 'InvalidTag' && /^Unclosed tag '([^']*)'\.$/.test(msg) ? [/^Unclosed tag '([^']*)'\.$/.exec(msg)![1]!] : undefined;
  if (open) {
    const tags = open.slice(-4).map((t) => `<${t}>`).join(', ');
    return `malformed XML: the file ends at line ${lastLine(text)} with ${open.length > 4 ? '..., ' : ''}${tags} still open (cut short?)`;
  }
  return `malformed XML at line ${err.line}: ${msg}`;
}

/** Parses one report's text. Throws a one-line Error when it is not well-formed XML. */
export function parseJUnit(text: string, onFailed: Walk['onFailed']): { totals: JUnitTotals; junit: boolean } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(malformedMessage(text, valid.err));
  const walk: Walk = { totals: emptyTotals(), cases: 0, leafSuites: [], onFailed };
  const doc = parser.parse(text) as Node;
  visit(doc, '', walk);
  if (walk.cases > 0) return { totals: walk.totals, junit: true };
  // An empty <testsuites/> is a valid report of zero tests.
  return { totals: totalsFromSuites(walk.leafSuites), junit: walk.leafSuites.length > 0 || doc.testsuites !== undefined };
}

function addTotals(into: JUnitTotals, from: JUnitTotals): void {
  into.tests += from.tests;
  into.passed += from.passed;
  into.failures += from.failures;
  into.errors += from.errors;
  into.skipped += from.skipped;
  into.time += from.time;
}

const roundTime = (t: JUnitTotals): void => void (t.time = Math.round(t.time * 1000) / 1000);

/** Summarizes JUnit reports (already fetched from the box) into one bounded summary. */
export function summarizeJUnit(files: readonly JUnitInputFile[]): JUnitSummary {
  const summary: JUnitSummary = { ...emptyTotals(), files: [], failed: [], failedOmitted: 0, warnings: [] };
  const warn = (line: string): void => {
    if (summary.warnings.length < JUNIT_LIMITS.warnings) summary.warnings.push(clip(line, 300) ?? '');
  };
  let totalBytes = 0;
  files.forEach((file, index) => {
    const path = clip(file.path, JUNIT_LIMITS.nameChars) ?? '(unnamed)';
    const size = file.size ?? (typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.byteLength);
    const result: JUnitFileResult = { path, status: 'ok', ...emptyTotals() };
    if (index >= JUNIT_LIMITS.files) {
      if (index === JUNIT_LIMITS.files) warn(`${files.length - JUNIT_LIMITS.files} JUnit report(s) past the first ${JUNIT_LIMITS.files} were not read`);
      return;
    }
    summary.files.push(result);
    if (size > JUNIT_LIMITS.fileBytes) {
      result.status = 'too_large';
      warn(`${path}: skipped, ${size} bytes is over the ${JUNIT_LIMITS.fileBytes}-byte per-report cap`);
      return;
    }
    if (totalBytes + size > JUNIT_LIMITS.totalBytes) {
      result.status = 'skipped';
      warn(`${path}: skipped, the reports together are over the ${JUNIT_LIMITS.totalBytes}-byte cap`);
      return;
    }
    totalBytes += size;
    try {
      const { totals, junit } = parseJUnit(decodeXml(file.content), (build) => {
        if (summary.failed.length < JUNIT_LIMITS.failedCases) summary.failed.push(build());
        else summary.failedOmitted++;
      });
      if (!junit) {
        result.status = 'not_junit';
        warn(`${path}: no JUnit test suites found`);
        return;
      }
      Object.assign(result, totals);
      roundTime(result);
      addTotals(summary, totals);
    } catch (error) {
      result.status = 'malformed';
      warn(`${path}: ${(error as Error).message}`);
    }
  });
  roundTime(summary);
  return summary;
}

import { XMLParser } from 'fast-xml-parser';

/**
 * Checks request and response bodies against small vendored descriptions of a cloud's published API model
 * (`*\/fixtures/*.json`), so a fake or a client that drifts from the real shapes fails a test.
 *
 * A type is a shape name (its fields listed in `shapes`), `[type]` for a list, or one of: `string`, `integer`,
 * `number`, `boolean`, `scalar` (any of those), `labels` (string map), `map`, `object`, `any`, `struct` (a structure
 * Crabbox never sends or reads, so nothing may appear inside it). A trailing `?` on a type allows null; a trailing
 * `?` on a field name allows the field to be absent.
 */

export type TypeRef = string | TypeRef[];
export type Shapes = Record<string, Record<string, TypeRef>>;

export interface ConformanceOptions {
  /** Every field not marked optional must be present (responses of APIs that always send every field). */
  complete?: boolean;
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Every way `value` departs from `type`, as `path: problem` lines (empty when it conforms). */
export function conformance(value: unknown, type: TypeRef, shapes: Shapes, path = '$', options: ConformanceOptions = {}): string[] {
  const problems: string[] = [];
  const check = (v: unknown, t: TypeRef, at: string): void => {
    if (Array.isArray(t)) {
      if (v === '') return; // an empty XML list element
      if (!Array.isArray(v)) return void problems.push(`${at}: expected a list, got ${kindOf(v)}`);
      v.forEach((item, i) => check(item, t[0]!, `${at}[${i}]`));
      return;
    }
    const nullable = t.endsWith('?');
    const name = nullable ? t.slice(0, -1) : t;
    if (v === null) {
      if (!nullable && name !== 'any') problems.push(`${at}: null where ${name} is not nullable`);
      return;
    }
    switch (name) {
      case 'any':
      case 'map':
        return;
      case 'string':
        if (typeof v !== 'string') problems.push(`${at}: expected string, got ${kindOf(v)}`);
        return;
      case 'integer':
        if (!Number.isInteger(v)) problems.push(`${at}: expected integer, got ${JSON.stringify(v)}`);
        return;
      case 'number':
        if (typeof v !== 'number') problems.push(`${at}: expected number, got ${kindOf(v)}`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(`${at}: expected boolean, got ${kindOf(v)}`);
        return;
      case 'scalar':
        if (typeof v === 'object') problems.push(`${at}: expected a value, got ${kindOf(v)}`);
        return;
      case 'labels':
        if (kindOf(v) !== 'object' || Object.values(v as object).some((x) => typeof x !== 'string')) problems.push(`${at}: expected a string map`);
        return;
      case 'object':
        if (kindOf(v) !== 'object') problems.push(`${at}: expected an object, got ${kindOf(v)}`);
        return;
      case 'struct':
        if (v !== '' && !(kindOf(v) === 'object' && Object.keys(v as object).length === 0)) problems.push(`${at}: a structure Crabbox does not use is not empty (add it to the fixture if it is real)`);
        return;
    }
    const shape = shapes[name];
    if (!shape) return void problems.push(`${at}: the fixture has no shape ${name}`);
    if (v === '') return; // an empty XML structure element
    if (kindOf(v) !== 'object') return void problems.push(`${at}: expected ${name}, got ${kindOf(v)}`);
    const fields = new Map(Object.entries(shape).map(([k, ft]) => [k.replace(/\?$/, ''), { type: ft, optional: k.endsWith('?') }]));
    for (const [k, fv] of Object.entries(v as Record<string, unknown>)) {
      const field = fields.get(k);
      if (!field) problems.push(`${at}.${k}: not a field of ${name} in the published model`);
      else check(fv, field.type, `${at}.${k}`);
    }
    if (options.complete) for (const [k, f] of fields) if (!f.optional && !(k in (v as object))) problems.push(`${at}.${k}: missing (the API always sends it)`);
  };
  check(value, type, path);
  return problems;
}

const xml = new XMLParser({ ignoreAttributes: true, ignoreDeclaration: true, parseTagValue: false, trimValues: false, isArray: (name) => name === 'item' });

/** EC2's XML as a value the checker reads: `<x><item>…</item></x>` is a list, text-only elements are strings. */
function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value ?? '';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1 && entries[0]![0] === 'item') return (entries[0]![1] as unknown[]).map(normalize);
  return Object.fromEntries(entries.map(([k, v]) => [k, normalize(v)]));
}

/** Parses an EC2 answer into its root element's name and its value (see `normalize`). */
export function parseEc2Xml(text: string): { root: string; value: Record<string, unknown> } {
  const doc = xml.parse(text) as Record<string, unknown>;
  const [root, value] = Object.entries(doc)[0] ?? ['', ''];
  const normalized = normalize(value);
  return { root, value: normalized && typeof normalized === 'object' && !Array.isArray(normalized) ? (normalized as Record<string, unknown>) : {} };
}

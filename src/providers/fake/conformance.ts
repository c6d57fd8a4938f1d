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

export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

/** A minimal XML reader for the EC2 answers the fake writes (elements and text; no attributes beyond the root's). */
export function parseXml(xml: string): XmlElement {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const root: XmlElement = { name: '#root', text: '', children: [] };
  const stack = [root];
  const token = /<(\/?)([A-Za-z_][\w.-]*)([^>]*?)(\/?)>|([^<]+)/g;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    const top = stack.at(-1)!;
    if (m[5] !== undefined) {
      top.text += m[5].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    } else if (m[1]) {
      if (top.name !== m[2]) throw new Error(`XML: </${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else {
      const el: XmlElement = { name: m[2]!, text: '', children: [] };
      top.children.push(el);
      if (!m[4]) stack.push(el);
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack.at(-1)!.name}> is never closed`);
  return root.children[0]!;
}

/** EC2's XML as a value the checker reads: `<x><item>…</item></x>` is a list, text-only elements are strings. */
export function xmlValue(el: XmlElement): unknown {
  if (el.children.length === 0) return el.text;
  if (el.children.every((c) => c.name === 'item')) return el.children.map(xmlValue);
  const out: Record<string, unknown> = {};
  for (const c of el.children) {
    if (c.name in out) throw new Error(`XML: <${c.name}> twice in <${el.name}>`);
    out[c.name] = xmlValue(c);
  }
  return out;
}

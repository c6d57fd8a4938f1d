import { CrabboxError } from '../domain/errors.ts';

/** How a value is written into a template. Every placeholder says which, so nothing lands unescaped by accident. */
const FILTERS: Record<string, (value: string) => string> = {
  /** A YAML double-quoted scalar (JSON strings are valid YAML). */
  yaml: (v) => JSON.stringify(v),
  /** Base64, for file bodies cloud-init decodes (`encoding: b64`). */
  b64: (v) => Buffer.from(v, 'utf8').toString('base64'),
  /** One shell word in single quotes. */
  sh: (v) => `'${v.replace(/'/g, `'\\''`)}'`,
  /** Only for values made of plain characters (ports, names, paths); anything else is refused. */
  plain: (v) => {
    if (!/^[A-Za-z0-9 ._/:@+=,-]*$/.test(v)) throw new CrabboxError('internal', `template value ${JSON.stringify(v.slice(0, 40))} is not plain; use an escaping filter`);
    return v;
  },
};

const PLACEHOLDER = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:\|\s*([a-z][a-z0-9]*)\s*)?\}\}/g;

/**
 * Fills `{{ name | filter }}` placeholders (filter defaults to `plain`). An unknown name or filter is an error,
 * and so is a variable the template never uses, so templates and callers cannot drift apart silently.
 */
export function render(template: string, vars: Record<string, string>): string {
  const used = new Set<string>();
  const out = template.replace(PLACEHOLDER, (_m, name: string, filter: string | undefined) => {
    const value = vars[name];
    if (value === undefined) throw new CrabboxError('internal', `template variable ${name} has no value`);
    const apply = FILTERS[filter ?? 'plain'];
    if (!apply) throw new CrabboxError('internal', `unknown template filter ${filter}`);
    used.add(name);
    return apply(value);
  });
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length > 0) throw new CrabboxError('internal', `template variables never used: ${unused.join(', ')}`);
  if (/\{\{|\}\}/.test(out)) throw new CrabboxError('internal', 'template has a malformed placeholder');
  return out;
}

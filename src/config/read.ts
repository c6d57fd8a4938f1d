import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { CrabboxError } from '../domain/errors.ts';
import { closest } from '../domain/closest.ts';
import { isSecretName } from '../redact/names.ts';

/** YAML aliases a config file may expand; far more than any real config, far fewer than an alias bomb needs. */
export const MAX_YAML_ALIASES = 50;

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** The keys a strict object schema accepts at `path` (walking through optional wrappers), for "expected one of". */
export function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const key of [...path, undefined]) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    if (!(s instanceof z.ZodObject)) return [];
    if (key === undefined) return Object.keys(s.shape);
    s = s.shape[String(key)] as z.ZodType | undefined;
  }
  return [];
}

/** Turns the first schema issue into one line naming the file, the key and what was expected. */
export function describeIssue(file: string, data: unknown, issue: z.core.$ZodIssue, schema?: z.ZodType): string {
  // Keys are the file's own text: one with a line break or a quote is shown quoted, so the message stays one line.
  const plain = (k: PropertyKey): string => (/^[\w.@+~/ -]*$/.test(String(k)) ? String(k) : JSON.stringify(String(k)));
  const key = issue.path.map(plain).join('.');
  if (issue.code === 'unrecognized_keys') {
    const prefix = key ? `${key}.` : '';
    const expected = schema ? keysAt(schema, issue.path) : [];
    const guess = expected.length ? closest(issue.keys[0]!, expected) : undefined;
    return `${file}: unknown key ${issue.keys.map((k) => `"${prefix}${plain(k)}"`).join(', ')}${guess ? ` (did you mean "${prefix}${guess}"?)` : ''}${expected.length ? `; known keys${key ? ` under ${key}` : ''}: ${expected.join(', ')}` : ''}`;
  }
  const got = valueAt(data, issue.path);
  if (issue.code === 'invalid_type') return `${file}: ${key || '(top level)'}: expected ${issue.expected}, got ${describeType(got)}`;
  if (issue.code === 'invalid_value') return `${file}: ${key}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeType(got)}`;
  return `${file}: ${key || '(top level)'}: ${issue.message}${typeof got === 'string' && !isSecretName(key) ? `, got ${JSON.stringify(got.slice(0, 80))}` : ''}`;
}

/** 1-based line of a character offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Why a repo config may not set a user-config key, as a hint; undefined for other keys. */
function repoOnlyHint(key: string): string | undefined {
  if (key === 'proxy') return 'a repository cannot choose a command your machine runs or where its ssh goes; set proxy in your user config';
  return /coordinator|owner|org|hetzner|aws|static|local/.test(key) ? 'repo config cannot choose credentials or where they are sent; set this in your user config' : undefined;
}

/** Reads and validates one YAML config file. A missing file is an empty config. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, what: string): z.infer<S> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrabboxError('invalid_config', `${file}: cannot read ${what}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new CrabboxError('invalid_config', `${file}:${lineOf(text, first.pos[0])}: malformed YAML: ${first.message.split('\n')[0]}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (error) {
    if (error instanceof ReferenceError || error instanceof RangeError) {
      throw new CrabboxError('invalid_config', `${file}: too many YAML alias expansions (at most ${MAX_YAML_ALIASES}); write the values out instead of nesting aliases`);
    }
    throw new CrabboxError('invalid_config', `${file}: malformed YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CrabboxError('invalid_config', describeIssue(file, data, issue, schema), {
      hint: what !== 'repo config' ? undefined : repoOnlyHint(String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0])),
    });
  }
  return parsed.data as z.infer<S>;
}

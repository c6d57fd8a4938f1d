/** A decoded EC2 Query request: `Filter.1.Name=x&Filter.1.Value.1=y` becomes `{ Filter: [{ Name: 'x', Value: ['y'] }] }`. */
export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };
export type QueryParams = { [key: string]: QueryValue };

type Tree = { [key: string]: Tree | string };

function normalize(node: Tree | string): QueryValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => normalize(node[k]!));
  }
  return Object.fromEntries(keys.map((k) => [k, normalize(node[k]!)]));
}

/** Parses a form-encoded EC2 Query body into nested params; lists are 1-based in the wire format. */
export function parseQuery(body: string): { action: string; version: string; params: QueryParams } {
  const root: Tree = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else {
        const next = node[part];
        node = (typeof next === 'object' ? next : (node[part] = {})) as Tree;
      }
    });
  }
  const params = normalize(root) as QueryParams;
  const action = typeof params.Action === 'string' ? params.Action : '';
  const version = typeof params.Version === 'string' ? params.Version : '';
  return { action, version, params };
}

/** Typed readers over parsed params. */
export const q = {
  str(value: QueryValue | undefined): string | undefined {
    return typeof value === 'string' ? value : undefined;
  },
  list(value: QueryValue | undefined): QueryValue[] {
    return Array.isArray(value) ? value : value === undefined ? [] : [value];
  },
  strings(value: QueryValue | undefined): string[] {
    return q.list(value).filter((v): v is string => typeof v === 'string');
  },
  obj(value: QueryValue | undefined): { [key: string]: QueryValue } {
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  },
  objs(value: QueryValue | undefined): { [key: string]: QueryValue }[] {
    return q.list(value).map((v) => q.obj(v));
  },
};

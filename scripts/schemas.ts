// Writes docs/schemas/<name>.v1.json, the JSON Schema of every `--json` document, from the zod source
// (src/api/documents.ts). `--check` only compares and exits 1 when a file is missing, stale or extra.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENTS, jsonSchemaOf, schemaFile, type DocumentName } from '../src/api/documents.ts';

export const SCHEMAS_DIR = fileURLToPath(new URL('../docs/schemas/', import.meta.url));

/** Every published file's name and text, as generated now. */
export function generatedSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(DOCUMENTS) as DocumentName[]) out.set(schemaFile(name), `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`);
  return out;
}

/** Files that differ from the generated text, are missing, or have no document any more. */
export function schemaDrift(dir = SCHEMAS_DIR): string[] {
  const want = generatedSchemas();
  let have: string[] = [];
  try {
    have = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    have = [];
  }
  const drift: string[] = [];
  for (const [file, text] of want) {
    let current: string | undefined;
    try {
      current = readFileSync(join(dir, file), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === undefined) drift.push(`${file}: missing`);
    else if (current !== text) drift.push(`${file}: differs from the zod source`);
  }
  for (const file of have) if (!want.has(file)) drift.push(`${file}: no such document any more`);
  return drift;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const drift = schemaDrift();
    for (const line of drift) console.error(`schemas: ${line}`);
    if (drift.length) console.error('schemas: run `npm run schemas` and commit docs/schemas/');
    process.exit(drift.length ? 1 : 0);
  }
  mkdirSync(SCHEMAS_DIR, { recursive: true });
  const want = generatedSchemas();
  for (const file of readdirSync(SCHEMAS_DIR)) if (file.endsWith('.json') && !want.has(file)) rmSync(join(SCHEMAS_DIR, file));
  for (const [file, text] of want) writeFileSync(join(SCHEMAS_DIR, file), text);
  console.log(`schemas: wrote ${want.size} files to docs/schemas/`);
}

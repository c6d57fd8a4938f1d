import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCUMENTS, documentName, jsonSchemaOf, type DocumentName } from './documents.ts';
import { generatedSchemas, schemaDrift } from '../../scripts/schemas.ts';

describe('the published JSON Schemas (docs/schemas/)', () => {
  it('match the zod source: `npm run schemas` was run and committed', () => {
    assert.deepEqual(schemaDrift(), [], 'run `npm run schemas` and commit docs/schemas/');
  });

  it('a changed, missing or extra file is drift', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crabbox-schemas-'));
    try {
      for (const [file, text] of generatedSchemas()) writeFileSync(join(dir, file), text);
      assert.deepEqual(schemaDrift(dir), []);
      writeFileSync(join(dir, 'run.v1.json'), '{}\n');
      rmSync(join(dir, 'logs.v1.json'));
      writeFileSync(join(dir, 'old.v1.json'), '{}\n');
      assert.deepEqual(schemaDrift(dir).sort(), ['logs.v1.json: missing', 'old.v1.json: no such document any more', 'run.v1.json: differs from the zod source']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every document pins its own schema name and version in a required `schema` field', () => {
    for (const name of Object.keys(DOCUMENTS) as DocumentName[]) {
      const json = jsonSchemaOf(name) as { properties: { schema: { const: string } }; required: string[] };
      assert.equal(json.properties.schema.const, `crabbox.${name}/v1`, name);
      assert.ok(json.required.includes('schema'), name);
      assert.equal(documentName(`crabbox.${name}/v1`), name);
    }
    assert.equal(documentName('crabbox.nope/v1'), undefined);
  });
});

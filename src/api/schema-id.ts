/**
 * The `schema` value of a `--json` document: its shape's name and version (`crabbox.run/v1`). Kept apart from the zod
 * schemas (shapes.ts) so the CLI frame can name the error document without loading zod.
 */
export function schemaId<N extends string>(name: N): `crabbox.${N}/v1` {
  return `crabbox.${name}/v1`;
}

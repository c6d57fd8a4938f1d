import * as z from 'zod';
import { historyJson, leaseJson, leaseListJson, logsJson, resultsJson, runResultJson, whoamiJson } from './shapes.ts';
import { adminLeasesJson, adminMachinesJson, drainJson, eventsJson, machineDrainJson, poolDrainJson, poolJson, runReportJson, stopJson, stopManyJson, usageJson } from './shapes-team.ts';
import {
  cleanupJson, configPathsJson, configShowJson, coordinatorDeployJson, coordinatorSecretsJson, coordinatorServeJson, doctorJson, errorJson, initJson, issuedTokenJson, logoutJson, syncPlanJson, versionJson,
} from './shapes-setup.ts';

/**
 * Every versioned document, by the name in its `schema` field (`crabbox.<name>/v1`). scripts/schemas.ts writes one
 * JSON Schema file per entry to docs/schemas/<name>.v1.json; a test fails when those files drift from this source.
 */
export const DOCUMENTS = {
  run: runResultJson,
  'run-report': runReportJson,
  lease: leaseJson,
  'lease-list': leaseListJson,
  stop: stopJson,
  'stop-many': stopManyJson,
  history: historyJson,
  logs: logsJson,
  results: resultsJson,
  usage: usageJson,
  events: eventsJson,
  pool: poolJson,
  'admin-leases': adminLeasesJson,
  drain: drainJson,
  'admin-machines': adminMachinesJson,
  'machine-drain': machineDrainJson,
  'pool-drain': poolDrainJson,
  whoami: whoamiJson,
  cleanup: cleanupJson,
  'sync-plan': syncPlanJson,
  config: configShowJson,
  'config-paths': configPathsJson,
  doctor: doctorJson,
  version: versionJson,
  logout: logoutJson,
  'coordinator-deploy': coordinatorDeployJson,
  'coordinator-secrets': coordinatorSecretsJson,
  'coordinator-serve': coordinatorServeJson,
  'issued-token': issuedTokenJson,
  init: initJson,
  error: errorJson,
} as const satisfies Record<string, z.ZodType>;

export type DocumentName = keyof typeof DOCUMENTS;

/** The file a document's JSON Schema is published in, under docs/schemas/. */
export const schemaFile = (name: string): string => `${name}.v1.json`;

/** A document's JSON Schema (draft 2020-12), as published. */
export function jsonSchemaOf(name: DocumentName): Record<string, unknown> {
  const schema = z.toJSONSchema(DOCUMENTS[name], { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: `crabbox.${name}/v1` };
}

/** The document name in a `schema` value (`crabbox.run/v1` -> `run`), or undefined. */
export function documentName(schema: unknown): DocumentName | undefined {
  const m = typeof schema === 'string' ? /^crabbox\.([a-z-]+)\/v1$/.exec(schema) : null;
  return m && m[1]! in DOCUMENTS ? (m[1] as DocumentName) : undefined;
}

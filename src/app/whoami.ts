import { schemaId } from '../api/schema-id.ts';
import { type WhoamiJson } from '../api/shapes.ts';
import type { Whoami } from '../api/answers.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { AppContext } from './context.ts';
import { coordinatorClient } from './coordinator-session.ts';

/** The `whoami --json` document: times are ISO 8601 like every other time crabbox prints. */
export function whoamiDocument(who: Whoami, url: string): WhoamiJson {
  const { expiresAt, ...rest } = who;
  return { schema: schemaId('whoami'), ...rest, ...(expiresAt !== undefined ? { expiresAt } : {}), coordinator: url };
}

/** Who the coordinator (the configured one, or `url` when it is the same) says the caller is. */
export async function whoami(ctx: Pick<AppContext, 'env' | 'cwd'>, input: { url?: string | undefined } = {}): Promise<WhoamiJson> {
  const { client, config, url } = coordinatorClient(ctx, { url: input.url });
  if (!config.coordinator?.token || url !== config.coordinator.url) throw new CrabboxError('unauthorized', `not logged in to ${url}`, { hint: 'run `crabbox login`' });
  return whoamiDocument(await client.whoami(), url);
}

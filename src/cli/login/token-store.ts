import { updateUserConfig } from '../../config/write.ts';
import type { PathEnv } from '../../config/paths.ts';
import { isMap, type Document } from 'yaml';

/** Saves the coordinator URL and token (0600 user config, other keys kept). */
export function saveCoordinatorToken(env: PathEnv, input: { url: string; token: string; tokenKind: 'shared' | 'user' }): string {
  return updateUserConfig(env, (doc) => {
    doc.setIn(['coordinator', 'url'], input.url);
    doc.setIn(['coordinator', 'token'], input.token);
    doc.setIn(['coordinator', 'tokenKind'], input.tokenKind);
  });
}

/**
 * Removes the stored token and, unless `keepUrl`, the coordinator URL (so lease commands go back to direct mode).
 * Says what was there.
 */
export function removeCoordinatorLogin(env: PathEnv, options: { keepUrl?: boolean } = {}): { token: boolean; url: string | undefined; urlRemoved: boolean } {
  const found = { token: false, url: undefined as string | undefined, urlRemoved: false };
  updateUserConfig(env, (doc: Document) => {
    if (!isMap(doc.get('coordinator'))) return;
    found.token = doc.hasIn(['coordinator', 'token']);
    const url = doc.getIn(['coordinator', 'url']);
    found.url = typeof url === 'string' ? url : undefined;
    found.urlRemoved = found.url !== undefined && !options.keepUrl;
    doc.deleteIn(['coordinator', 'token']);
    doc.deleteIn(['coordinator', 'tokenKind']);
    if (!options.keepUrl) doc.deleteIn(['coordinator', 'url']);
    const section = doc.get('coordinator');
    if (isMap(section) && section.items.length === 0) doc.delete('coordinator');
  });
  return found;
}

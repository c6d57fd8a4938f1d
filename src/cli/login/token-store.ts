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

/** Removes the stored token (the URL stays); returns whether there was one. */
export function removeCoordinatorToken(env: PathEnv): boolean {
  let had = false;
  updateUserConfig(env, (doc: Document) => {
    had = doc.hasIn(['coordinator', 'token']);
    doc.deleteIn(['coordinator', 'token']);
    doc.deleteIn(['coordinator', 'tokenKind']);
    const section = doc.get('coordinator');
    if (isMap(section) && section.items.length === 0) doc.delete('coordinator');
  });
  return had;
}

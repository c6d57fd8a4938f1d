import { newToken } from '../domain/ids.ts';
import type { MetaStore } from '../storage/store.ts';

const INSTALLATION_META = 'installation';

/** The installation id labels every machine this coordinator makes; it is remembered in the store across restarts. */
export async function installationId(store: MetaStore, configured: string | undefined): Promise<string> {
  const stored = await store.getMeta(INSTALLATION_META);
  if (configured) {
    if (stored !== configured) await store.setMeta(INSTALLATION_META, configured);
    return configured;
  }
  if (stored) return stored;
  const fresh = `cbx-${newToken(5)}`;
  await store.setMeta(INSTALLATION_META, fresh);
  return fresh;
}

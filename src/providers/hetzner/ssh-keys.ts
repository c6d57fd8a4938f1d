import { CrabboxError } from '../../domain/errors.ts';
import { LABEL } from '../../domain/labels.ts';
import type { HSshKey } from './api.ts';
import { classify, type HetznerClient } from './client.ts';

const KEY_NAME = /^crabbox-cbx_[0-9a-f]{12}$/;

/** The SSH key object name for a lease. Only names of exactly this shape are ever deleted. */
export function sshKeyName(leaseId: string): string {
  return `crabbox-${leaseId}`;
}

export function isLeaseKeyName(name: string): boolean {
  return KEY_NAME.test(name);
}

/** `type base64` of an OpenSSH public key, without the comment, for comparing keys. */
function keyBody(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}

async function findByName(client: HetznerClient, name: string): Promise<HSshKey | undefined> {
  const body = await client.request<{ ssh_keys: HSshKey[] }>('GET', '/ssh_keys', { query: { name } });
  return body.ssh_keys.find((k) => k.name === name);
}

/**
 * Makes sure the lease's key object exists with exactly this public key. A key of the same name with other key
 * material is refused, never reused: it would let someone else's key into the box.
 */
export async function ensureLeaseKey(client: HetznerClient, options: { leaseId: string; publicKey: string; labels: Record<string, string> }): Promise<HSshKey> {
  const name = sshKeyName(options.leaseId);
  const check = (key: HSshKey): HSshKey => {
    if (keyBody(key.public_key) !== keyBody(options.publicKey)) {
      throw new CrabboxError('conflict', `hetzner ssh key ${name} already exists with a different public key`, {
        hint: `delete the key ${name} in the Hetzner console if it is stale; it is never reused`,
      });
    }
    return key;
  };
  const existing = await findByName(client, name);
  if (existing) return check(existing);
  try {
    const body = await client.request<{ ssh_key: HSshKey }>('POST', '/ssh_keys', {
      body: { name, public_key: options.publicKey.trim(), labels: { [LABEL.marker]: 'true', [LABEL.lease]: options.leaseId, ...pick(options.labels, LABEL.installation) } },
    });
    return body.ssh_key;
  } catch (error) {
    // A concurrent create for the same lease (a retry) won the race: accept it only if the material matches.
    if ((error as { code?: string }).code === 'uniqueness_error') {
      const raced = await findByName(client, name);
      if (raced) return check(raced);
    }
    throw error;
  }
}

/**
 * The key object of a warm pool's admin key, shared by every pool machine (Hetzner refuses a second object with the
 * same fingerprint): `crabbox-admin-<12 hex of the key's sha256>`, made once and never deleted by Crabbox (it is no
 * lease's key). An object with the same material under another name (uploaded by the operator) is reused as it is.
 */
export async function ensureSharedKey(client: HetznerClient, options: { publicKey: string; labels: Record<string, string> }): Promise<HSshKey> {
  const body = keyBody(options.publicKey);
  // WebCrypto rather than node:crypto: the provider also runs in the Worker.
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  const name = `crabbox-admin-${[...digest].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 12)}`;
  const find = async (): Promise<HSshKey | undefined> => {
    const named = await findByName(client, name);
    if (named) {
      if (keyBody(named.public_key) !== body) throw new CrabboxError('conflict', `hetzner ssh key ${name} already exists with a different public key`);
      return named;
    }
    const all = await client.request<{ ssh_keys: HSshKey[] }>('GET', '/ssh_keys', { query: { per_page: '50' } });
    return all.ssh_keys.find((k) => keyBody(k.public_key) === body);
  };
  const existing = await find();
  if (existing) return existing;
  try {
    const created = await client.request<{ ssh_key: HSshKey }>('POST', '/ssh_keys', { body: { name, public_key: options.publicKey.trim(), labels: { [LABEL.marker]: 'true', ...pick(options.labels, LABEL.installation) } } });
    return created.ssh_key;
  } catch (error) {
    // Another pool machine's create made it meanwhile.
    if ((error as { code?: string }).code === 'uniqueness_error') {
      const raced = await find();
      if (raced) return raced;
    }
    throw error;
  }
}

function pick(labels: Record<string, string>, key: string): Record<string, string> {
  return labels[key] === undefined ? {} : { [key]: labels[key] };
}

/** Deletes the lease's key object; a missing key is fine. */
export async function deleteLeaseKey(client: HetznerClient, leaseId: string): Promise<'deleted' | 'already-gone'> {
  const name = sshKeyName(leaseId);
  if (!isLeaseKeyName(name)) return 'already-gone';
  const key = await findByName(client, name);
  // Only this lease's key: one of the same name without the lease's label is someone else's.
  if (!key || key.labels[LABEL.lease] !== leaseId) return 'already-gone';
  try {
    await client.request('DELETE', `/ssh_keys/${key.id}`);
    return 'deleted';
  } catch (error) {
    if (classify(error) === 'not-found') return 'already-gone';
    throw error;
  }
}

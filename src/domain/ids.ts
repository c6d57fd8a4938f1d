import { CrabboxError } from './errors.ts';

/** Lease ids are `cbx_` and 12 lowercase hex digits. */
export const LEASE_ID_PATTERN = /^cbx_[0-9a-f]{12}$/;
/** Slugs are two words and an optional 4-hex suffix: `blue-lobster`, `blue-lobster-1a2b`. */
export const SLUG_PATTERN = /^[a-z]+-[a-z]+(?:-[0-9a-f]{4})?$/;
export const RUN_ID_PATTERN = /^run_[0-9a-f]{12}$/;
/** Machine ids are `mch_` and 12 lowercase hex digits. */
export const MACHINE_ID_PATTERN = /^mch_[0-9a-f]{12}$/;

const ADJECTIVES = [
  'amber', 'azure', 'blue', 'bold', 'brave', 'bright', 'calm', 'coral', 'crimson', 'deep', 'eager', 'fast',
  'gentle', 'golden', 'green', 'jade', 'keen', 'lucky', 'mellow', 'misty', 'nimble', 'ochre', 'pearl', 'quiet',
  'rapid', 'red', 'rusty', 'salty', 'sandy', 'silver', 'sunny', 'teal', 'tidal', 'violet', 'wavy', 'witty',
] as const;
const NOUNS = [
  'amphipod', 'barnacle', 'copepod', 'crab', 'crayfish', 'hermit', 'isopod', 'krill', 'langoustine', 'lobster',
  'mantis', 'prawn', 'scampi', 'shrimp', 'yabby', 'fiddler',
] as const;

function randomHex(bytes: number, random: (n: number) => Uint8Array): string {
  return Array.from(random(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

const webRandom = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** Mints a new lease id from 6 random bytes. */
export function newLeaseId(random: (n: number) => Uint8Array = webRandom): string {
  return `cbx_${randomHex(6, random)}`;
}

/** Mints a new run id. */
export function newRunId(random: (n: number) => Uint8Array = webRandom): string {
  return `run_${randomHex(6, random)}`;
}

/** Mints a new machine id. */
export function newMachineId(random: (n: number) => Uint8Array = webRandom): string {
  return `mch_${randomHex(6, random)}`;
}

/** Any random hex token (idempotency tokens, pending-login ids). */
export function newToken(bytes = 16, random: (n: number) => Uint8Array = webRandom): string {
  return randomHex(bytes, random);
}

/** 32-bit FNV-1a over the UTF-16 code units of an ASCII string. Stable across runs and platforms. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The friendly slug a lease id always maps to, before any collision suffix. */
export function baseSlug(leaseId: string): string {
  const h = fnv1a(leaseId);
  return `${ADJECTIVES[h % ADJECTIVES.length]}-${NOUNS[Math.floor(h / ADJECTIVES.length) % NOUNS.length]}`;
}

/**
 * The slug for a lease, unique among `taken` (the slugs of the owner's live leases): the base slug,
 * or the base slug with a deterministic 4-hex suffix when the base is taken.
 */
export function uniqueSlug(leaseId: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = baseSlug(leaseId);
  if (!used.has(base)) return base;
  for (let attempt = 0; attempt < 64; attempt++) {
    const suffix = (fnv1a(`${leaseId}/${attempt}`) & 0xffff).toString(16).padStart(4, '0');
    const candidate = `${base}-${suffix}`;
    if (!used.has(candidate)) return candidate;
  }
  // 64 misses means thousands of live leases share a base; fall back to the id's own hex, which is unique.
  return `${base}-${leaseId.slice(-4)}`;
}

export function isLeaseId(value: string): boolean {
  return LEASE_ID_PATTERN.test(value);
}

export function isMachineId(value: string): boolean {
  return MACHINE_ID_PATTERN.test(value);
}

/** A machine id as typed by an admin; anything else is refused before it reaches a path or a query. */
export function parseMachineId(input: string): string {
  const value = input.trim().toLowerCase();
  if (isMachineId(value)) return value;
  throw new CrabboxError('bad_request', `${JSON.stringify(input.slice(0, 80))} is not a machine id (mch_ + 12 hex)`, { hint: 'run `crabbox admin machines` to see the machines' });
}

export function isSlug(value: string): boolean {
  return SLUG_PATTERN.test(value) && value.length <= 40;
}

/** A lease reference as typed by a user: an id or a slug. Anything else is refused before it reaches a path or a query. */
export type LeaseRef = { kind: 'id'; value: string } | { kind: 'slug'; value: string };

export function parseLeaseRef(input: string): LeaseRef {
  const value = input.trim().toLowerCase();
  if (isLeaseId(value)) return { kind: 'id', value };
  if (isSlug(value)) return { kind: 'slug', value };
  throw new CrabboxError('bad_request', `${JSON.stringify(input.slice(0, 80))} is not a lease id (cbx_ + 12 hex) or slug (like blue-lobster)`, {
    hint: 'run `crabbox list` to see your leases',
  });
}

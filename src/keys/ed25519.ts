import { base64, fromBase64, WireWriter } from './wire.ts';

/**
 * Ed25519 SSH keys made in process with WebCrypto, written in OpenSSH's own formats: the public line
 * (`ssh-ed25519 AAAA... comment`) and the `openssh-key-v1` private key PEM that ssh and sshd (as a HostKey) read.
 * No node:* import: the Cloudflare Worker entry and the SSH certificate authority use this module too.
 */

/** The WebCrypto types, taken from the global so no DOM or node:crypto typings are needed. */
type Subtle = typeof globalThis.crypto.subtle;
type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;

export interface Ed25519KeyPair {
  /** `ssh-ed25519 <base64> <comment>`, no trailing newline (an authorized_keys / known_hosts / .pub line). */
  publicKey: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` PEM, unencrypted, ending in a newline: the file ssh-keygen writes. */
  privateKey: string;
  /** The 32-byte public key. */
  publicBytes: Uint8Array;
  /** The WebCrypto keys, for signing (certificates) without re-importing. */
  keys: { publicKey: WebCryptoKey; privateKey: WebCryptoKey };
}

const KEY_TYPE = 'ssh-ed25519';
const PEM_WIDTH = 70;

function checkComment(comment: string): void {
  if (/[\r\n\0]/.test(comment)) throw new Error('an SSH key comment must be one line');
}

/** The public key blob: string "ssh-ed25519", string key. */
export function publicKeyBlob(publicBytes: Uint8Array): Uint8Array {
  return new WireWriter().string(KEY_TYPE).string(publicBytes).bytes();
}

/** The one-line OpenSSH public key. */
export function encodePublicKey(publicBytes: Uint8Array, comment = ''): string {
  checkComment(comment);
  const line = `${KEY_TYPE} ${base64(publicKeyBlob(publicBytes))}`;
  return comment ? `${line} ${comment}` : line;
}

/**
 * The unencrypted `openssh-key-v1` private key (PROTOCOL.key in OpenSSH): cipher and KDF "none", one key, a private
 * section of two equal check integers, the key (seed followed by the public key, as OpenSSH stores it) and the
 * comment, padded 1, 2, 3, ... to a multiple of 8.
 */
export function encodePrivateKey(seed: Uint8Array, publicBytes: Uint8Array, comment: string, checkInt: number): string {
  checkComment(comment);
  if (seed.length !== 32 || publicBytes.length !== 32) throw new Error('an Ed25519 key has a 32-byte seed and a 32-byte public key');
  const secret = new Uint8Array(64);
  secret.set(seed, 0);
  secret.set(publicBytes, 32);
  const section = new WireWriter().uint32(checkInt).uint32(checkInt).string(KEY_TYPE).string(publicBytes).string(secret).string(comment);
  const padding = new Uint8Array((8 - (section.length % 8)) % 8).map((_, i) => i + 1);
  section.raw(padding);
  const body = new WireWriter()
    .raw(new TextEncoder().encode('openssh-key-v1\0'))
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(publicKeyBlob(publicBytes))
    .string(section.bytes())
    .bytes();
  const text = base64(body);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += PEM_WIDTH) lines.push(text.slice(i, i + PEM_WIDTH));
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** A fresh Ed25519 key pair in OpenSSH formats. `subtle` defaults to the global WebCrypto (Node 22+, Workers). */
export async function generateEd25519(comment: string, subtle: Subtle = globalThis.crypto.subtle): Promise<Ed25519KeyPair> {
  checkComment(comment);
  const keys = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as Ed25519KeyPair['keys'];
  // JWK is the export both runtimes support for Ed25519 private keys: d is the seed, x the public key.
  const jwk = await subtle.exportKey('jwk', keys.privateKey);
  if (!jwk.d || !jwk.x) throw new Error('WebCrypto did not export the Ed25519 key');
  const seed = fromBase64(jwk.d);
  const publicBytes = fromBase64(jwk.x);
  const checkInt = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
  return { publicKey: encodePublicKey(publicBytes, comment), privateKey: encodePrivateKey(seed, publicBytes, comment, checkInt), publicBytes, keys };
}

import { encodePublicKey, publicKeyBlob } from './ed25519.ts';
import { base64, fromBase64, WireReader, WireWriter } from './wire.ts';

/**
 * OpenSSH user certificates (PROTOCOL.certkeys, `ssh-ed25519-cert-v01@openssh.com`) signed by an Ed25519 CA with
 * WebCrypto, and the CA key read from the unencrypted `openssh-key-v1` file ssh-keygen writes. No node:* import: the
 * coordinator signs with it on Node and on Workers. The CA's private key is held only as a non-extractable CryptoKey.
 */

type Subtle = typeof globalThis.crypto.subtle;
type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;

const KEY_TYPE = 'ssh-ed25519';
const CERT_TYPE = 'ssh-ed25519-cert-v01@openssh.com';
const USER_CERT = 1;
const HOST_CERT = 2;

/** The extensions a Crabbox certificate may carry; `permit-pty` always, the forwarding ones only when asked. */
export const FORWARDING_EXTENSIONS = { agent: 'permit-agent-forwarding', port: 'permit-port-forwarding', x11: 'permit-X11-forwarding' } as const;
export type Forwarding = keyof typeof FORWARDING_EXTENSIONS;

/** A CA able to sign: its public key line and a signing function (the private key stays inside WebCrypto). */
export interface CertificateAuthority {
  /** `ssh-ed25519 AAAA...` without a comment: the line boxes put in TrustedUserCAKeys. */
  publicKey: string;
  publicBytes: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** The 32 public bytes of an `ssh-ed25519 AAAA... [comment]` line; anything else is refused with a one-line error. */
export function parseEd25519PublicKey(line: string): Uint8Array {
  const [type, data] = line.trim().split(/\s+/);
  if (type !== KEY_TYPE || !data) throw new Error('expected an ssh-ed25519 public key line');
  let blob: Uint8Array;
  try {
    blob = fromBase64(data);
  } catch {
    throw new Error('the ssh-ed25519 public key is not valid base64');
  }
  const reader = new WireReader(blob);
  try {
    if (reader.text() !== KEY_TYPE) throw new Error('type');
    const key = reader.string();
    if (key.length !== 32 || !reader.done) throw new Error('length');
    return key.slice();
  } catch {
    throw new Error('the ssh-ed25519 public key is malformed');
  }
}

/**
 * The seed and public key of an unencrypted `openssh-key-v1` Ed25519 private key (what `ssh-keygen -t ed25519 -N ''`
 * writes). Errors never quote the key.
 */
export function parseEd25519PrivateKey(pem: string): { seed: Uint8Array; publicBytes: Uint8Array } {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error('not an OpenSSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)');
  let body: Uint8Array;
  try {
    body = fromBase64(match[1]!.replace(/\s+/g, ''));
  } catch {
    throw new Error('the OpenSSH private key is not valid base64');
  }
  try {
    const magic = 'openssh-key-v1\0';
    const reader = new WireReader(body);
    if (new TextDecoder().decode(reader.raw(magic.length)) !== magic) throw new Error('not an openssh-key-v1 private key');
    const cipher = reader.text();
    reader.string(); // kdf name
    reader.string(); // kdf options
    if (cipher !== 'none') throw new Error('the private key is passphrase-protected; Crabbox needs it unencrypted in a 0600 file or a secret');
    if (reader.uint32() !== 1) throw new Error('expected exactly one key in the private key file');
    reader.string(); // public blob
    const section = new WireReader(reader.string());
    if (section.uint32() !== section.uint32()) throw new Error('the private key check integers differ (corrupt file)');
    if (section.text() !== KEY_TYPE) throw new Error('the CA key must be an ssh-ed25519 key');
    const publicBytes = section.string();
    const secret = section.string();
    if (publicBytes.length !== 32 || secret.length !== 64) throw new Error('malformed Ed25519 private key');
    return { seed: secret.slice(0, 32), publicBytes: publicBytes.slice() };
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(/truncated|utf-8|decode/i.test(message) ? 'the OpenSSH private key is truncated or corrupt' : message);
  }
}

/** A CA from its private key file's text; the key is imported non-extractable and the seed copy is wiped. */
export async function loadCertificateAuthority(pem: string, subtle: Subtle = globalThis.crypto.subtle): Promise<CertificateAuthority> {
  const { seed, publicBytes } = parseEd25519PrivateKey(pem);
  let key: WebCryptoKey;
  try {
    key = await subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: base64url(seed), x: base64url(publicBytes) }, { name: 'Ed25519' }, false, ['sign']);
  } finally {
    seed.fill(0);
  }
  return {
    publicKey: encodePublicKey(publicBytes),
    publicBytes,
    sign: async (data) => new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, data as unknown as ArrayBuffer)),
  };
}

function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** What every certificate names: the key, its id, principals, validity (epoch seconds) and serial. */
interface CertificateBase {
  /** The holder's `ssh-ed25519 AAAA...` public key line. */
  publicKey: string;
  keyId: string;
  principals: string[];
  validAfter: number;
  validBefore: number;
  serial: number;
  /** 32 random bytes (defaults to fresh WebCrypto randomness). */
  nonce?: Uint8Array | undefined;
  comment?: string | undefined;
}

/** A user certificate: `keyId` is the lease id (sshd's logs, a KRL's `id:` lines), principals the lease user. */
export interface UserCertificateRequest extends CertificateBase {
  forwarding?: Forwarding[] | undefined;
  /** The `source-address` critical option: comma-separated CIDRs the certificate is accepted from. */
  sourceAddress?: string | undefined;
}

/** Signs an OpenSSH user certificate; returns the `ssh-ed25519-cert-v01@openssh.com AAAA... comment` line. */
export async function signUserCertificate(ca: CertificateAuthority, request: UserCertificateRequest): Promise<string> {
  const names = ['permit-pty', ...(request.forwarding ?? []).map((f) => FORWARDING_EXTENSIONS[f])];
  const critical = new WireWriter();
  if (request.sourceAddress) critical.string('source-address').string(new WireWriter().string(request.sourceAddress).bytes());
  return signCertificate(ca, request, USER_CERT, critical.bytes(), [...new Set(names)].sort());
}

/**
 * A host certificate: `keyId` is the machine id (the client's debug output), principals the names and addresses the
 * client connects to (ssh matches the host as typed, or HostKeyAlias).
 */
export type HostCertificateRequest = CertificateBase;

/** Signs an OpenSSH host certificate (no critical options, no extensions: PROTOCOL.certkeys defines none for hosts). */
export async function signHostCertificate(ca: CertificateAuthority, request: HostCertificateRequest): Promise<string> {
  return signCertificate(ca, request, HOST_CERT, new Uint8Array(0), []);
}

async function signCertificate(ca: CertificateAuthority, request: CertificateBase, type: number, critical: Uint8Array, extensionNames: string[]): Promise<string> {
  const holder = parseEd25519PublicKey(request.publicKey);
  if (request.principals.length === 0) throw new Error('a certificate needs at least one principal');
  if (!(request.validBefore > request.validAfter)) throw new Error('a certificate must be valid for some time');
  const principals = new WireWriter();
  for (const p of request.principals) principals.string(p);
  const extensions = new WireWriter();
  for (const name of extensionNames) extensions.string(name).string('');
  const body = new WireWriter()
    .string(CERT_TYPE)
    .string(request.nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(32)))
    .string(holder)
    .uint64(request.serial)
    .uint32(type)
    .string(request.keyId)
    .string(principals.bytes())
    .uint64(request.validAfter)
    .uint64(request.validBefore)
    .string(critical)
    .string(extensions.bytes())
    .string('')
    .string(publicKeyBlob(ca.publicBytes))
    .bytes();
  const signature = new WireWriter().string(KEY_TYPE).string(await ca.sign(body)).bytes();
  const cert = new WireWriter().raw(body).string(signature).bytes();
  const comment = request.comment?.replace(/[\r\n\0\s]+/g, '-');
  return `${CERT_TYPE} ${base64(cert)}${comment ? ` ${comment}` : ''}`;
}

/** The fields of a certificate line a client needs (cache validity) and tests check; the signature is not verified. */
export interface CertificateFields {
  type: 'user' | 'host';
  /** The certified key's own `ssh-ed25519 AAAA...` line. */
  publicKey: string;
  serial: number;
  keyId: string;
  principals: string[];
  validAfter: number;
  validBefore: number;
  criticalOptions: Record<string, string>;
  extensions: string[];
  caPublicKey: string;
}

/** True for an `ssh-ed25519-cert-v01@openssh.com` line (a host key stored with its certificate). */
export function isCertificateLine(line: string): boolean {
  return line.trim().startsWith(`${CERT_TYPE} `);
}

export function readCertificate(line: string): CertificateFields {
  const [type, data] = line.trim().split(/\s+/);
  if (type !== CERT_TYPE || !data) throw new Error(`expected an ${CERT_TYPE} line`);
  const r = new WireReader(fromBase64(data));
  r.text();
  r.string(); // nonce
  const publicKey = encodePublicKey(r.string());
  const serial = r.uint32() * 2 ** 32 + r.uint32();
  const kind = r.uint32();
  if (kind !== USER_CERT && kind !== HOST_CERT) throw new Error('neither a user nor a host certificate');
  const keyId = r.text();
  const p = new WireReader(r.string());
  const principals: string[] = [];
  while (!p.done) principals.push(p.text());
  const validAfter = r.uint32() * 2 ** 32 + r.uint32();
  const validBefore = r.uint32() * 2 ** 32 + r.uint32();
  const c = new WireReader(r.string());
  const criticalOptions: Record<string, string> = {};
  while (!c.done) {
    const name = c.text();
    criticalOptions[name] = new WireReader(c.string()).text();
  }
  const e = new WireReader(r.string());
  const extensions: string[] = [];
  while (!e.done) {
    extensions.push(e.text());
    e.string();
  }
  r.string(); // reserved
  const caBlob = new WireReader(r.string());
  caBlob.text();
  return { type: kind === USER_CERT ? 'user' : 'host', publicKey, serial, keyId, principals, validAfter, validBefore, criticalOptions, extensions, caPublicKey: encodePublicKey(caBlob.string()) };
}

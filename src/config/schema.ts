import * as z from 'zod';
import { transportProblem } from '../domain/transport.ts';
import { parseDuration } from '../domain/duration.ts';
import { checkIdleTimeout, checkTtl } from '../domain/lease-timing.ts';

/** A duration written as `90m`, `1h30m`, `45s` or a number of seconds; parsed to seconds. */
export const durationSeconds = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 90m or 45s, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
});

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size written as `64KiB`, `20GiB`, `500M` or a number of bytes. */
export const byteSize = z.union([z.string(), z.number().int().nonnegative()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as 64KiB or 20GiB, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * unit);
});

const port = z.number().int().min(1).max(65535);
/** Env names or `PREFIX_*` patterns. A bare `*` and anything else is refused. */
export const envPattern = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected an env name or PREFIX_* pattern (letters, digits, _; a bare * is not allowed)');

export const PROVIDERS = ['local', 'ssh', 'hetzner', 'aws'] as const;

const leaseSection = z.strictObject({
  ttl: durationSeconds.refine((s) => !checkTtl(s), 'expected a TTL from 1m to 24h'),
  idleTimeout: durationSeconds.refine((s) => !checkIdleTimeout(s), 'expected an idle timeout from 1m to 24h'),
  keep: z.boolean(),
  class: z.string().regex(/^[a-z0-9-]{1,32}$/),
  type: z.string().regex(/^[A-Za-z0-9.-]{1,64}$/),
}).partial();

const sshSection = z.strictObject({
  port,
  fallbackPorts: z.array(port).max(8),
  connectTimeout: durationSeconds,
}).partial();

const syncSection = z.strictObject({
  exclude: z.array(z.string().min(1)).max(1000),
  warnFiles: z.number().int().positive(),
  maxFiles: z.number().int().positive(),
  warnBytes: byteSize,
  maxBytes: byteSize,
  deleteLimit: z.number().int().nonnegative(),
  timeout: durationSeconds,
  /** Commits of history the box's .git gets (docs/sync.md, "Git on the box"); 0: no .git on the box. */
  gitDepth: z.number().int().min(0).max(1_000_000),
}).partial();

const envSection = z.strictObject({ allow: z.array(envPattern).max(200) }).partial();

const runSection = z.strictObject({
  recordCommand: z.boolean(),
  logTail: byteSize,
  junit: z.array(z.string().min(1)).max(50),
  historyLimit: z.number().int().positive().max(100_000),
}).partial();

/** What `crabbox run` copies back from the box (docs/artifacts.md): paths always, onFailure only when the command fails. */
const artifactsSection = z.strictObject({
  paths: z.array(z.string().min(1).max(500)).max(50),
  onFailure: z.array(z.string().min(1).max(500)).max(50),
  maxFiles: z.number().int().positive().max(1_000_000),
  maxBytes: byteSize,
}).partial();

/** Absolute: the box's users and sshd resolve it from other working directories (useradd refuses a relative home). */
const localSection = z.strictObject({ workRoot: z.string().min(1).refine((p) => p.startsWith('/'), 'expected an absolute path such as /var/tmp/crabbox-boxes') }).partial();

/** A host name or IP literal for a static host; a leading `-` or shell characters could become ssh options or commands. */
export const STATIC_HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)$/;
/** Absolute or `~/`-relative, plain path characters, no `..` segment, never `/` or `~` itself. */
export const STATIC_WORK_ROOT_PATTERN = /^(?:\/|~\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/;
/** One OpenSSH public key line (`type base64 [comment]`). */
export const PUBLIC_KEY_PATTERN = /^(?:ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}(?: [^\r\n]*)?$/;

const staticHost = z.strictObject({
  host: z.string().regex(STATIC_HOST_PATTERN, 'expected a host name or IP address (letters, digits, . - :; no leading -)'),
  port: port.optional(),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a Unix user name (lowercase letters, digits, _ -)'),
  workRoot: z.string().regex(STATIC_WORK_ROOT_PATTERN, 'expected an absolute or ~/ path of plain characters without .. (e.g. ~/crabbox-work)').optional(),
  hostKey: z.string().trim().regex(PUBLIC_KEY_PATTERN, 'expected the host\'s public key line, e.g. "ssh-ed25519 AAAA..." (see docs/providers/ssh.md)').optional(),
  identityFile: z.string().regex(/^(?:\/|~\/)[^\s"'\\]+$/, 'expected an absolute or ~/ path to a private key without spaces or quotes').optional(),
  /** Each lease logs in as its own Unix user on this host (docs/providers/ssh.md, "Per-lease users"). */
  leaseUsers: z.boolean().optional(),
  /** With leaseUsers: the lease user may sudo (decision 0060). */
  sudo: z.boolean().optional(),
}).refine((h) => !h.sudo || h.leaseUsers === true, { message: 'sudo: true needs leaseUsers: true', path: ['sudo'] });
const sshProviderSection = z.strictObject({ hosts: z.array(staticHost).max(500) }).partial();

const machineType = z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, 'expected a machine type name such as ccx33 or c7a.8xlarge');
const hetznerLocation = z.string().regex(/^[a-z0-9-]{2,16}$/, 'expected a Hetzner location such as fsn1');

export const hetznerSection = z.strictObject({
  location: hetznerLocation,
  /** Locations to try in order for each type (capacity fallback). */
  locations: z.array(hetznerLocation).min(1).max(10),
  image: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  types: z.array(machineType).min(1).max(20),
  /** The API base URL including /v1 (tests point it at the fake). */
  apiUrl: z.url(),
  eurToUsd: z.number().positive().max(10),
  /** How long to wait for the create action and an IPv4 address. */
  readyTimeout: durationSeconds.refine((s) => s >= 10 && s <= 3600, 'expected between 10s and 1h'),
}).partial();

const awsInstanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'expected an EC2 instance type such as c7a.2xlarge');
/** AWS settings. Credentials are never here: they come from the AWS chain (env, profile, SSO, instance role). */
export const awsSection = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/, 'expected an AWS region such as eu-west-1'),
  ami: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id such as ami-0123456789abcdef0'),
  types: z.array(awsInstanceType).min(1).max(20),
  market: z.enum(['spot', 'on-demand']),
  onDemandFallback: z.boolean(),
  rootVolumeGiB: z.number().int().min(8).max(16384),
  sshCidrs: z.array(z.string().min(1).max(64)).max(50),
  maxCallerCidrs: z.number().int().min(1).max(100),
  endpoint: z.url(),
  subnetId: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet id such as subnet-0123456789abcdef0'),
  securityGroupName: z.string().regex(/^(?!sg-)[A-Za-z0-9._-]{1,64}$/, 'expected a security group name (letters, digits, . _ -; not starting with sg-)'),
  ipWait: durationSeconds.refine((s) => s >= 10 && s <= 3600, 'expected an IP wait between 10s and 1h'),
}).partial();

/**
 * The user's own way to reach boxes (docs/tunnel.md): a ProxyCommand or a ProxyJump, never both. User config only: a
 * repository must not choose a command this machine runs or where its ssh connections go.
 */
export const proxySection = z
  .strictObject({
    command: z.string().regex(/^[^\r\n\0]{1,1000}$/, 'expected one line of at most 1000 characters, e.g. "ssh -W %h:%p bastion.example.com"').refine((s) => s.trim() !== '', 'expected a command'),
    jump: z.string().refine((jump) => transportProblem({ kind: 'proxy-jump', jump }) === undefined, 'expected [user@]host[:port], comma-separated for several hops, e.g. "me@bastion.example.com"'),
  })
  .partial()
  .refine((p) => !(p.command && p.jump), 'set either proxy.command or proxy.jump, not both');

/** Class name → provider → ordered machine types (the first that launches wins). */
export const classesSection = z.record(z.string().regex(/^[a-z0-9-]{1,32}$/), z.partialRecord(z.enum(PROVIDERS), z.array(machineType).min(1).max(20)));

/** Settings a repository may choose: how to lease and sync, never where credentials go. */
const shared = {
  provider: z.enum(PROVIDERS),
  lease: leaseSection,
  ssh: sshSection,
  sync: syncSection,
  env: envSection,
  run: runSection,
  artifacts: artifactsSection,
  classes: classesSection,
};

export const repoConfigSchema = z.strictObject(shared).partial();

/** The user's own config may also say who they are and where the coordinator is. */
export const userConfigSchema = z
  .strictObject({
    ...shared,
    owner: z.string().min(1).max(200),
    org: z.string().min(1).max(200),
    coordinator: z.strictObject({ url: z.url(), token: z.string().min(1), tokenKind: z.enum(['shared', 'user']) }).partial(),
    local: localSection,
    proxy: proxySection,
    static: sshProviderSection,
    hetzner: hetznerSection,
    aws: awsSection,
  })
  .partial();

export type RepoConfigFile = z.infer<typeof repoConfigSchema>;
export type UserConfigFile = z.infer<typeof userConfigSchema>;
/** What a user config file holds before parsing (durations still strings), for writing back. */
export type UserConfigInput = z.input<typeof userConfigSchema>;

import { Hono, type Context } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import { runId } from '../../api/schemas.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { newRunId } from '../../domain/ids.ts';
import { isLive } from '../../domain/lease.ts';
import { finalState } from '../../runs/record.ts';
import { normalizeJunit } from '../../api/shapes.ts';
import type { RunRecord, StoredRunState } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import { isoTime } from '../iso.ts';
import { hasRole } from '../auth/identity.ts';
import type { AppEnv } from '../env.ts';
import { denied } from '../middleware/auth.ts';
import { scrub, scrubValue } from '../redaction.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';
import { param } from '../validate.ts';

/** Keeps the last `maxBytes` of UTF-8 text, cut on a character boundary. */
export function tailBytes(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let start = bytes.length - maxBytes;
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return { text: new TextDecoder().decode(bytes.subarray(start)), truncated: true };
}

/** The run as the API shows it: times in ISO 8601, the JUnit summary in its one shape (older compact rows converted). */
const view = (run: RunRecord) => ({
  ...run,
  slug: run.slug ?? '',
  provider: run.provider ?? '',
  logTail: undefined,
  junit: run.junit === undefined ? undefined : normalizeJunit(run.junit),
  createdAt: isoTime(run.createdAt),
  endedAt: run.endedAt !== undefined ? isoTime(run.endedAt) : undefined,
});

/** The run named by `:id`: the caller's own (any for an admin); someone else's answers exactly like a missing one. */
export async function ownRun(c: Context<AppEnv>): Promise<RunRecord> {
  const id = param(c, 'id', runId);
  const run = await c.var.deps.store.getRun(id);
  const missing = (): CrabboxError => new CrabboxError('run_not_found', `no run ${id}`);
  if (!run) throw missing();
  if (run.owner !== c.var.identity.owner && !hasRole(c.var.identity, 'admin')) {
    await denied(c, 'other-owner', c.var.identity);
    throw missing();
  }
  return run;
}

/** The caller's own runs, newest first, without log tails (the dashboard calls the same handlers). */
export const listOwnRuns: EndpointHandler<typeof ENDPOINTS.listRuns> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listRuns({ owner: c.var.identity.owner, leaseId: q.leaseId, state: q.state, cursor: q.cursor, limit: q.limit });
  return { runs: page.items.map(view), nextCursor: page.nextCursor };
};
export const getOwnRun: EndpointHandler<typeof ENDPOINTS.getRun> = async (c) => ({ run: view(await ownRun(c)) });
export const ownRunLogs: EndpointHandler<typeof ENDPOINTS.runLogs> = async (c) => {
  const run = await ownRun(c);
  return { id: run.id, logTail: run.logTail ?? '', truncated: run.logTruncated };
};

/** Run history: create, finish (redacted, bounded log tail), get, list, logs. */
export function runRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const mount = '/v1/runs';
  serveEndpoint(app, mount, ENDPOINTS.createRun, async (c, { body: input }) => {
    const { store, clock, config } = c.var.deps;
    const identity = c.var.identity;
    const lease = await store.getLease(input.leaseId);
    if (!lease || (lease.owner !== identity.owner && !hasRole(identity, 'admin'))) throw new CrabboxError('lease_not_found', `no lease ${input.leaseId}`);
    if (!isLive(lease.state)) throw new CrabboxError('lease_not_active', `lease ${lease.slug} is ${lease.state}`);
    // A run that forwards env values (possibly secrets) makes its pool machine single-use: deleted after the lease.
    if (input.forwardsEnv) await store.markEnvForwarded(lease.id);
    const command = config.recordCommand && input.command !== undefined ? scrub(config, input.command).slice(0, 4096) : undefined;
    // The record and its audit event: one transaction.
    const run = await store.withTransaction(async (tx) => {
      const created = await tx.createRun({ id: newRunId(), leaseId: lease.id, slug: lease.slug, provider: lease.provider, owner: lease.owner, org: lease.org, command, createdAt: clock.now() });
      await audit(tx, { type: 'run.created', at: created.createdAt, actor: identity.owner, lease, runId: created.id });
      return created;
    });
    return { run: view(run) };
  });
  serveEndpoint(app, mount, ENDPOINTS.listRuns, listOwnRuns);
  serveEndpoint(app, mount, ENDPOINTS.getRun, getOwnRun);
  serveEndpoint(app, mount, ENDPOINTS.runLogs, ownRunLogs);
  serveEndpoint(app, mount, ENDPOINTS.finishRun, async (c, { body: input }) => {
    const run = await ownRun(c);
    const { store, clock, config } = c.var.deps;
    const tail = input.logTail !== undefined ? tailBytes(scrub(config, input.logTail), config.logTailBytes) : undefined;
    const source = input.interrupted ? 'crabbox' : (input.source ?? 'remote');
    const junit = input.junit === undefined ? undefined : normalizeJunit(scrubValue(config, input.junit));
    const artifacts = input.artifacts === undefined ? undefined : scrubValue(config, input.artifacts);
    const endedAt = clock.now();
    // The record and its audit event: one transaction.
    const finished = await store.withTransaction(async (tx) => {
      const done = await tx.finishRun(run.id, {
        exitCode: input.exitCode, state: finalState({ exitCode: input.exitCode, source, interrupted: input.interrupted !== undefined }) as Exclude<StoredRunState, 'running'>,
        source, interrupted: input.interrupted, remoteExitCode: input.remoteExitCode, syncSkipped: input.syncSkipped,
        endedAt, timings: input.timings, logTail: tail?.text, logTruncated: tail?.truncated, junit, artifacts,
      });
      if (done) await audit(tx, { type: 'run.finished', at: endedAt, actor: c.var.identity.owner, lease: { id: run.leaseId, owner: run.owner, org: run.org, providerId: undefined }, runId: run.id, data: { exitCode: input.exitCode, state: done.state } });
      return done;
    });
    if (!finished) throw new CrabboxError('conflict', `run ${run.id} is already finished`);
    return { run: view(finished) };
  });
  return app;
}

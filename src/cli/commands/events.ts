import type { Command } from 'commander';
import type { CoordinatorClient } from '../../api/client.ts';
import { eventListAnswer, type EventAnswer } from '../../api/answers.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';
import { oneLeaseAnswer } from '../../api/answers.ts';
import type { CliContext } from '../context.ts';
import { printJson, renderTable, write } from '../output.ts';
import { oneLine } from '../run-store.ts';
import { requireCoordinator } from '../session.ts';

export interface EventFilter { lease?: string | undefined; machine?: string | undefined; type?: string | undefined; owner?: string | undefined; limit: string }

/** Parses --limit for listings: 1-500. */
export function parsePageLimit(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 500) throw new CrabboxError('bad_request', `--limit ${JSON.stringify(value.slice(0, 20))}: expected a whole number from 1 to 500`);
  return Number(value);
}

/** Fetches one page of audit events from `path` (the caller's own, or everyone's for admins). */
export async function fetchEvents(client: CoordinatorClient, path: string, filter: EventFilter, leaseLookup: boolean): Promise<EventAnswer[]> {
  const limit = parsePageLimit(filter.limit);
  if (filter.type !== undefined && !/^[a-z]+(\.[a-z_]+)+$/.test(filter.type)) throw new CrabboxError('bad_request', `--type ${JSON.stringify(filter.type.slice(0, 40))}: expected an event type like lease.created`);
  const q = new URLSearchParams({ limit: String(limit) });
  if (filter.lease !== undefined) {
    const ref = parseLeaseRef(filter.lease);
    q.set('leaseId', ref.kind === 'id' || !leaseLookup ? ref.value : (await client.request('GET', `/v1/leases/${encodeURIComponent(ref.value)}`, oneLeaseAnswer)).lease.id);
  }
  if (filter.machine) q.set('machineId', filter.machine);
  if (filter.type) q.set('type', filter.type);
  if (filter.owner) q.set('owner', filter.owner);
  return (await client.request('GET', `${path}?${q}`, eventListAnswer)).events;
}

/** An event's data as `key=value` pairs for the DETAIL column: strings bare (quoted when they hold spaces), lists joined by commas. */
export function formatDetail(data: Record<string, unknown>): string {
  const value = (v: unknown): string => {
    if (typeof v === 'string') return /^[^\s"=]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
    if (Array.isArray(v)) return v.map(value).join(',');
    if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}:${value(x)}`).join(',');
    return String(v);
  };
  return Object.entries(data).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${value(v)}`).join(' ');
}

/** Prints events as a table (newest first) or --json. */
export function showEvents(ctx: CliContext, events: EventAnswer[]): void {
  if (ctx.json) return printJson(ctx.stdout, { events });
  if (events.length === 0) return ctx.info('no events');
  write(ctx.stdout, renderTable(['AT', 'TYPE', 'ACTOR', 'LEASE', 'RUN', 'DETAIL'], events.map((e) => [
    e.at.replace(/\.\d{3}Z$/, 'Z'), oneLine(e.type), oneLine(e.actor, 40), e.leaseId, e.runId, e.data ? oneLine(formatDetail(e.data), 100) : undefined,
  ])));
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('events')
    .description('Your audit trail on the coordinator, newest first (--lease to follow one lease)')
    .option('--lease <ref>', 'only events of this lease (id or slug)')
    .option('--type <type>', 'only events of this type, e.g. lease.expired')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .action(async (opts: EventFilter) => {
      if (opts.lease !== undefined) parseLeaseRef(opts.lease);
      const client = requireCoordinator(ctx, 'events');
      showEvents(ctx, await fetchEvents(client, '/v1/events', opts, true));
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import type { EventsJson } from '../../api/shapes-team.ts';
import { events } from '../../app/events.ts';
import { requireCoordinator } from '../../app/coordinator-session.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef } from '../../domain/ids.ts';

export interface EventFlags { lease?: string | undefined; machine?: string | undefined; type?: string | undefined; owner?: string | undefined; limit: string }

/** Parses --limit for listings: 1-500. */
export function parsePageLimit(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 500) throw new CrabboxError('bad_request', `--limit ${JSON.stringify(value.slice(0, 20))}: expected a whole number from 1 to 500`);
  return Number(value);
}

/** --type: an event type like lease.created. */
export function checkEventType(type: string | undefined): void {
  if (type !== undefined && !/^[a-z]+(\.[a-z_]+)+$/.test(type)) throw new CrabboxError('bad_request', `--type ${JSON.stringify(type.slice(0, 40))}: expected an event type like lease.created`);
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
export function showEvents(ctx: CliContext, doc: EventsJson): void {
  if (ctx.json) return printJson(ctx.stdout, doc);
  if (doc.events.length === 0) return ctx.info('no events');
  write(ctx.stdout, renderTable(['AT', 'TYPE', 'ACTOR', 'LEASE', 'RUN', 'DETAIL'], doc.events.map((e) => [
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
    .action(async (opts: EventFlags) => {
      if (opts.lease !== undefined) parseLeaseRef(opts.lease);
      requireCoordinator(appContext(ctx), 'events');
      const limit = parsePageLimit(opts.limit);
      checkEventType(opts.type);
      showEvents(ctx, await events.run(appContext(ctx), { lease: opts.lease, type: opts.type, limit }));
    });
}

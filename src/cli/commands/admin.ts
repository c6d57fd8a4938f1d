import type { Command } from 'commander';
import type { CoordinatorClient } from '../../api/client.ts';
import { leaseListAnswer, oneLeaseAnswer } from '../../api/answers.ts';
import { CrabboxError, isCrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef, parseMachineId } from '../../domain/ids.ts';
import { leaseFromView } from '../../leases/brokered.ts';
import { leaseJson } from '../../leases/record.ts';
import type { CliContext } from '../context.ts';
import { isoTime, printJson, renderTable, write } from '../output.ts';
import { oneLine } from '../run-store.ts';
import { requireCoordinator } from '../session.ts';
import { registerMachineCommands } from './admin-machines.ts';
import { fetchEvents, parsePageLimit, showEvents, type EventFilter } from './events.ts';

const OWNER = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;
const STATES = ['live', 'all', 'provisioning', 'active', 'released', 'expired', 'failed'];

function checkOwner(owner: string | undefined): void {
  if (owner !== undefined && !OWNER.test(owner)) throw new CrabboxError('bad_request', `--owner ${JSON.stringify(owner.slice(0, 40))}: expected letters, digits and . _ @ + -`);
}

/** Runs an admin call; a refusal becomes one line that says admin commands are for admins (exit 77). */
async function asAdmin<T>(ctx: CliContext, what: string, call: (client: CoordinatorClient) => Promise<T>): Promise<T> {
  const client = requireCoordinator(ctx, `admin ${what}`);
  try {
    return await call(client);
  } catch (error) {
    if (isCrabboxError(error) && (error.code === 'forbidden' || error.code === 'unauthorized')) {
      throw new CrabboxError(error.code, `\`crabbox admin ${what}\` is only for coordinator admins: ${error.message}`, { hint: 'ask an admin, or check your role with `crabbox whoami`' });
    }
    throw error;
  }
}

export function register(program: Command, ctx: CliContext): void {
  const admin = program.command('admin').description('Coordinator admin commands (admins only): leases, machines, release, delete, drain, undrain, events');
  admin
    .command('leases')
    .description("Everyone's leases")
    .option('--owner <owner>', 'only this owner')
    .option('--state <state>', `${STATES.join(', ')}`, 'live')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { owner?: string; state: string; limit: string }) => {
      checkOwner(opts.owner);
      if (!STATES.includes(opts.state)) throw new CrabboxError('bad_request', `--state ${JSON.stringify(opts.state.slice(0, 20))}: expected one of ${STATES.join(', ')}`);
      const q = new URLSearchParams({ state: opts.state, limit: String(parsePageLimit(opts.limit)) });
      if (opts.owner) q.set('owner', opts.owner);
      const { leases } = await asAdmin(ctx, 'leases', (c) => c.request('GET', `/v1/admin/leases?${q}`, leaseListAnswer));
      const now = ctx.clock.now();
      const all = leases.map(leaseFromView);
      if (ctx.json) return printJson(ctx.stdout, { leases: all.map((l) => ({ ...leaseJson(l, now), org: l.org })) });
      if (all.length === 0) return ctx.info('no leases');
      write(ctx.stdout, renderTable(['ID', 'SLUG', 'OWNER', 'ORG', 'STATE', 'PROVIDER', 'EXPIRES'], all.map((l) => [l.id, l.slug, oneLine(l.owner, 40), oneLine(l.org, 30), l.state, l.provider, isoTime(l.expiresAt)])));
    });
  admin
    .command('release')
    .description("Release anyone's lease (the coordinator deletes its machine)")
    .argument('<ref>', 'lease id or slug')
    .action(async (ref: string) => {
      const parsed = parseLeaseRef(ref);
      const { lease } = await asAdmin(ctx, 'release', (c) => c.request('POST', `/v1/admin/leases/${encodeURIComponent(parsed.value)}/release`, oneLeaseAnswer, {}));
      if (ctx.json) return printJson(ctx.stdout, leaseJson(leaseFromView(lease), ctx.clock.now()));
      write(ctx.stdout, `released ${lease.id} (${lease.slug}) of ${oneLine(lease.owner, 40)}\n`);
    });
  admin
    .command('delete')
    .description('End a lease and delete its machine now (needs --force)')
    .argument('<ref>', 'lease id or slug')
    .option('--force', 'yes, delete the machine now')
    .action(async (ref: string, opts: { force?: boolean }) => {
      const parsed = parseLeaseRef(ref);
      if (!opts.force) throw new CrabboxError('bad_request', `\`crabbox admin delete ${parsed.value}\` deletes the machine at once; pass --force to confirm`);
      const { lease } = await asAdmin(ctx, 'delete', (c) => c.request('DELETE', `/v1/admin/leases/${encodeURIComponent(parsed.value)}`, oneLeaseAnswer));
      if (ctx.json) return printJson(ctx.stdout, leaseJson(leaseFromView(lease), ctx.clock.now()));
      write(ctx.stdout, `deleted ${lease.id} (${lease.slug}) of ${oneLine(lease.owner, 40)}\n`);
    });
  registerMachineCommands(admin, ctx, asAdmin);
  admin
    .command('events')
    .description("Everyone's audit trail, newest first")
    .option('--owner <owner>', 'only this owner')
    .option('--lease <ref>', 'only this lease id')
    .option('--machine <id>', 'only this machine (mch_ + 12 hex)')
    .option('--type <type>', 'only this event type')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .action(async (opts: EventFilter) => {
      checkOwner(opts.owner);
      if (opts.lease !== undefined && parseLeaseRef(opts.lease).kind !== 'id') throw new CrabboxError('bad_request', '--lease takes a lease id (cbx_ + 12 hex) for admin events');
      if (opts.machine !== undefined) opts.machine = parseMachineId(opts.machine);
      showEvents(ctx, await asAdmin(ctx, 'events', (c) => fetchEvents(c, '/v1/admin/events', opts, false)));
    });
}

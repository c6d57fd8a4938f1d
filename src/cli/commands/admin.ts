import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import { adminDelete, adminEvents, adminLeases, adminRelease } from '../../app/admin.ts';
import { LEASE_FILTERS } from '../../app/pool.ts';
import { requireCoordinator } from '../../app/coordinator-session.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseLeaseRef, parseMachineId } from '../../domain/ids.ts';
import { registerMachineCommands } from './admin-machines.ts';
import { checkEventType, parsePageLimit, showEvents, type EventFlags } from './events.ts';

const OWNER = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

function checkOwner(owner: string | undefined): void {
  if (owner !== undefined && !OWNER.test(owner)) throw new CrabboxError('bad_request', `--owner ${JSON.stringify(owner.slice(0, 40))}: expected letters, digits and . _ @ + -`);
}

export function register(program: Command, ctx: CliContext): void {
  const admin = program.command('admin').description('Coordinator admin commands (admins only): leases, machines, release, delete, drain, undrain, events');
  admin
    .command('leases')
    .description("Everyone's leases")
    .option('--owner <owner>', 'only this owner')
    .option('--state <state>', `${LEASE_FILTERS.join(', ')}`, 'live')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { owner?: string; state: string; limit: string }) => {
      checkOwner(opts.owner);
      if (!(LEASE_FILTERS as readonly string[]).includes(opts.state)) throw new CrabboxError('bad_request', `--state ${JSON.stringify(opts.state.slice(0, 20))}: expected one of ${LEASE_FILTERS.join(', ')}`);
      const doc = await adminLeases(appContext(ctx), { owner: opts.owner, state: opts.state, limit: parsePageLimit(opts.limit) });
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.leases.length === 0) return ctx.info('no leases');
      write(ctx.stdout, renderTable(['ID', 'SLUG', 'OWNER', 'ORG', 'STATE', 'PROVIDER', 'EXPIRES'], doc.leases.map((l) => [l.id, l.slug, oneLine(l.owner, 40), oneLine(l.org, 30), l.state, l.provider, l.expiresAt])));
    });
  admin
    .command('release')
    .description("Release anyone's lease (the coordinator deletes its machine)")
    .argument('<ref>', 'lease id or slug')
    .action(async (ref: string) => {
      const lease = await adminRelease(appContext(ctx), ref);
      if (ctx.json) return printJson(ctx.stdout, lease);
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
      const lease = await adminDelete(appContext(ctx), ref);
      if (ctx.json) return printJson(ctx.stdout, lease);
      write(ctx.stdout, `deleted ${lease.id} (${lease.slug}) of ${oneLine(lease.owner, 40)}\n`);
    });
  registerMachineCommands(admin, ctx);
  admin
    .command('events')
    .description("Everyone's audit trail, newest first")
    .option('--owner <owner>', 'only this owner')
    .option('--lease <ref>', 'only this lease id')
    .option('--machine <id>', 'only this machine (mch_ + 12 hex)')
    .option('--type <type>', 'only this event type')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .action(async (opts: EventFlags) => {
      checkOwner(opts.owner);
      if (opts.lease !== undefined && parseLeaseRef(opts.lease).kind !== 'id') throw new CrabboxError('bad_request', '--lease takes a lease id (cbx_ + 12 hex) for admin events');
      const machine = opts.machine === undefined ? undefined : parseMachineId(opts.machine);
      requireCoordinator(appContext(ctx), 'admin events');
      const limit = parsePageLimit(opts.limit);
      checkEventType(opts.type);
      showEvents(ctx, await adminEvents(appContext(ctx), { owner: opts.owner, lease: opts.lease, machine, type: opts.type, limit }));
    });
}

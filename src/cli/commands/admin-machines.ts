import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { oneLine, printJson, renderTable, write } from '../output.ts';
import { appContext } from '../app-context.ts';
import type { MachineDrainJson } from '../../api/shapes-team.ts';
import { adminDrain, adminMachineDrain, adminMachines, adminPoolDrain } from '../../app/admin.ts';
import { formatDuration } from '../../domain/duration.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { parseMachineId } from '../../domain/ids.ts';
import { MACHINE_STATES } from '../../domain/machine.ts';
import { plural } from '../../domain/plural.ts';
import { parsePageLimit } from './events.ts';

const STATES = ['live', 'all', ...MACHINE_STATES];
const POOL = /^[a-z0-9][a-z0-9-]{0,31}$/;

function showMachine(ctx: CliContext, verb: string, { machine, changed }: MachineDrainJson): void {
  const lease = machine.leaseId ? ` (lease ${machine.leaseId})` : '';
  write(ctx.stdout, changed ? `${verb} ${machine.id}: ${machine.state}${lease}\n` : `${machine.id} was already ${machine.state}${lease}; nothing changed\n`);
}

function checkPool(pool: string): string {
  if (!POOL.test(pool)) throw new CrabboxError('bad_request', `--pool ${JSON.stringify(pool.slice(0, 40))}: expected lowercase letters, digits and -, at most 32`);
  return pool;
}

async function poolDrain(ctx: CliContext, pool: string, drain: boolean): Promise<void> {
  const doc = await adminPoolDrain(appContext(ctx), checkPool(pool), drain);
  if (ctx.json) return printJson(ctx.stdout, doc);
  const machines = plural(doc.changed, 'machine');
  write(ctx.stdout, drain
    ? `drained pool ${doc.pool}: no refills; ${machines} drained (idle ones deleted now, busy ones once their lease ends)\n`
    : `undrained pool ${doc.pool}: refills resume; ${machines} taken back from draining\n`);
}

/** `admin machines`, and the machine and pool forms of `admin drain` / `admin undrain`. */
export function registerMachineCommands(admin: Command, ctx: CliContext): void {
  admin
    .command('machines')
    .description('Every machine with its state, age, lease and assignments (live ones unless --state)')
    .option('--state <state>', STATES.join(', '), 'live')
    .option('--pool <name>', 'only machines of this warm pool')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { state: string; pool?: string; limit: string }) => {
      if (!STATES.includes(opts.state)) throw new CrabboxError('bad_request', `--state ${JSON.stringify(opts.state.slice(0, 20))}: expected one of ${STATES.join(', ')}`);
      if (opts.pool !== undefined && !POOL.test(opts.pool)) throw new CrabboxError('bad_request', `--pool ${JSON.stringify(opts.pool.slice(0, 40))}: expected lowercase letters, digits and -, at most 32`);
      const doc = await adminMachines(appContext(ctx), { state: opts.state, pool: opts.pool, limit: parsePageLimit(opts.limit) });
      if (ctx.json) return printJson(ctx.stdout, doc);
      if (doc.machines.length === 0) return ctx.info('no machines');
      write(ctx.stdout, renderTable(
        ['ID', 'STATE', 'PROVIDER', 'TYPE', 'AGE', 'LEASE', 'ASSIGNMENTS', 'POOL', 'HOST'],
        doc.machines.map((m) => [m.id, m.state, m.provider, m.type, formatDuration(m.ageSeconds), m.leaseId, m.assignments, m.pool, m.host ? oneLine(m.host, 40) : undefined]),
      ));
    });
  admin
    .command('drain')
    .description('Drain one machine (no new lease; deleted once free), a warm pool (--pool), or with neither the whole fleet: refuse new leases and release every live one')
    .argument('[machine]', 'a machine id (mch_ + 12 hex); without it, the whole fleet')
    .option('--pool <name>', 'drain a warm pool: no refills, idle machines deleted now, busy ones once free')
    .option('--off', 'end the fleet drain (same as `admin undrain` with no machine)')
    .action(async (ref: string | undefined, opts: { off?: boolean; pool?: string }) => {
      if (opts.pool !== undefined) {
        if (ref !== undefined) throw new CrabboxError('bad_request', 'give a machine or --pool, not both');
        if (opts.off) throw new CrabboxError('bad_request', '--off ends the fleet drain; to undrain a pool run `crabbox admin undrain --pool <name>`');
        return poolDrain(ctx, opts.pool, true);
      }
      if (ref !== undefined) {
        if (opts.off) throw new CrabboxError('bad_request', '--off ends the fleet drain; to undrain one machine run `crabbox admin undrain <machine>`');
        const doc = await adminMachineDrain(appContext(ctx), parseMachineId(ref), true);
        if (ctx.json) return printJson(ctx.stdout, doc);
        return showMachine(ctx, 'drained', doc);
      }
      await fleetDrain(ctx, !opts.off);
    });
  admin
    .command('undrain')
    .description('Take one machine or a warm pool (--pool) back from draining, or with neither end the fleet drain')
    .argument('[machine]', 'a machine id (mch_ + 12 hex); without it, the whole fleet')
    .option('--pool <name>', 'undrain a warm pool: refills resume, its machines still draining go back to work')
    .action(async (ref: string | undefined, opts: { pool?: string }) => {
      if (opts.pool !== undefined) {
        if (ref !== undefined) throw new CrabboxError('bad_request', 'give a machine or --pool, not both');
        return poolDrain(ctx, opts.pool, false);
      }
      if (ref === undefined) return fleetDrain(ctx, false);
      const doc = await adminMachineDrain(appContext(ctx), parseMachineId(ref), false);
      if (ctx.json) return printJson(ctx.stdout, doc);
      showMachine(ctx, 'undrained', doc);
    });
}

async function fleetDrain(ctx: CliContext, draining: boolean): Promise<void> {
  const answer = await adminDrain(appContext(ctx), draining);
  if (ctx.json) return printJson(ctx.stdout, answer);
  write(ctx.stdout, answer.draining ? `draining: new leases are refused; released ${plural(answer.released, 'live lease')}\n` : 'not draining: new leases are accepted\n');
}

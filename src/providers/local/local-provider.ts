import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { CreateOptions, DanglingObject, DanglingSweepReport, DeleteResult, Machine, MachineSpec, Provider } from '../provider.ts';
import type { Labels } from '../../domain/labels.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { privateDir } from '../../ssh/keys.ts';
import { BOX, ROOT_BOXES_DIR, leaseUserName, machineLayout, type MachineLayout } from './layout.ts';
import { machineIds, readState, writeState, type LocalMachineState } from './state.ts';
import { ensurePrivsepDir, findSshd, freePort, isOurSshd, readPid, renderSshdConfig, startSshd, templatePath, writeSshdConfig } from './sshd.ts';
import { createLeaseUser } from './users.ts';
import { installUserCa, userCaFiles } from './user-ca.ts';
import { reserveUid } from './uids.ts';
import { makeBox, makeSharedBox } from './box.ts';
import { teardown } from './teardown.ts';
import { leaseGate } from './gate.ts';
import { findOrphans, type Orphan } from './orphans.ts';

export interface LocalProviderOptions {
  /** The CLI user's state dir; machines live under `<stateDir>/local/<leaseId>`. */
  stateDir: string;
  /** Parent of the per-lease box dirs (home, work root). Default: /var/lib/crabbox/boxes as root, `<stateDir>/boxes` otherwise. */
  boxesRoot?: string | undefined;
  clock?: Clock | undefined;
}

/** What a local box's host certificate is valid for: sshd listens on 127.0.0.1 (clients may name it localhost). */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost'];

const isRoot = (): boolean => process.getuid?.() === 0;

/** How long a delete waits for a create of the same lease to stop (it checks for the tombstone between steps). */
const DELETE_WAIT_MS = 120_000;
/** How long a create waits for another create or delete of the same lease. */
const CREATE_WAIT_MS = 120_000;
/** Tombstones of deleted leases are kept this long (ids are never reused; this only bounds their number). */
const TOMBSTONE_MS = 7 * 24 * 3600_000;

/** The `local` provider: one private sshd per lease on a loopback port; a per-lease Unix user when run as root. */
export function createLocalProvider(options: LocalProviderOptions): Provider {
  const root = isRoot();
  const clock = options.clock ?? systemClock;
  const boxesRoot = options.boxesRoot ?? (root ? ROOT_BOXES_DIR : join(options.stateDir, 'boxes'));
  const localDir = join(options.stateDir, 'local');
  const gate = leaseGate(localDir, clock);
  const layoutOf = (leaseId: string): MachineLayout => machineLayout({ stateDir: options.stateDir, boxesRoot, leaseId });

  async function toMachine(state: LocalMachineState, layout: MachineLayout): Promise<Machine> {
    const pid = await readPid(layout.pidFile);
    const alive = pid !== undefined && isOurSshd(pid, layout.sshdConfig);
    return {
      provider: 'local',
      providerId: state.leaseId,
      host: state.host,
      ports: state.port ? [state.port] : [],
      sshUser: state.sshUser,
      workRoot: state.workRoot,
      hostKey: state.hostKey,
      labels: { ...state.labels },
      status: state.phase === 'provisioning' ? 'provisioning' : alive ? 'running' : 'stopped',
      createdAt: state.createdAt,
    };
  }

  async function startBox(layout: MachineLayout, user: string, spec: MachineSpec, shared = false, hostCertificate?: string): Promise<number> {
    const sshd = findSshd();
    if (!sshd) throw new CrabboxError('missing_tool', 'sshd not found', { hint: 'install openssh-server (run `crabbox doctor`)' });
    await writeFile(layout.hostKey, spec.hostKey.privateKey.endsWith('\n') ? spec.hostKey.privateKey : `${spec.hostKey.privateKey}\n`, { mode: 0o600 });
    await writeFile(`${layout.hostKey}.pub`, `${spec.hostKey.publicKey.trim()}\n`, { mode: 0o600 });
    const certFile = hostCertificate ? `${layout.hostKey}-cert.pub` : undefined;
    if (certFile) await writeFile(certFile, `${hostCertificate!.trim()}\n`, { mode: 0o600 });
    await ensurePrivsepDir();
    const template = await readFile(templatePath(), 'utf8');
    // With a user CA the box takes certificates only: no authorized keys, the principals per login user, the KRL.
    let userCa: { caKeys: string; principals: string; revoked: string } | undefined;
    if (spec.userCa) {
      await installUserCa(layout.machineDir, spec.userCa.publicKeys);
      const principals = join(layout.boxDir, shared ? join(BOX.keys, '%u') : BOX.principals);
      userCa = { ...userCaFiles(layout.machineDir), principals };
    }
    const keys = (file: string): string => (userCa ? 'none' : file);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const text = shared
        ? renderSshdConfig(template, { port, hostKey: layout.hostKey, hostCertificate: certFile, authorizedKeys: keys(join(layout.boxDir, BOX.keys, '%u')), pidFile: layout.pidFile, user: 'cbx-*', userCa })
        : renderSshdConfig(template, { port, hostKey: layout.hostKey, hostCertificate: certFile, authorizedKeys: keys(layout.authorizedKeys), pidFile: layout.pidFile, user, tmpDir: layout.tmpDir, userCa });
      await writeSshdConfig(layout.sshdConfig, text);
      try {
        await startSshd({ sshd, configFile: layout.sshdConfig, logFile: layout.log, pidFile: layout.pidFile, clock });
        return port;
      } catch (error) {
        lastError = error; // most likely someone took the port between probe and bind; try another
      }
    }
    throw lastError;
  }

  /** Throws once the lease has been released: a create in flight stops here and removes what it made. */
  function checkpoint(leaseId: string): void {
    if (gate.released(leaseId)) {
      throw new CrabboxError('lease_not_active', `lease ${leaseId} was released while its local machine was being created`);
    }
  }

  async function build(spec: MachineSpec, createOptions: CreateOptions): Promise<Machine> {
    const layout = layoutOf(spec.leaseId);
    checkpoint(spec.leaseId);
    const existing = await readState(layout.stateFile);
    if (existing) {
      const machine = await toMachine(existing, layout);
      if (machine.status === 'running') return machine;
      await teardown(layout, root); // a half-made box from a crash: rebuild it from scratch
    }
    if (spec.userCa && !spec.shared && !/^[A-Za-z0-9._-]{1,64}$/.test(spec.userCa.principal ?? '')) throw new CrabboxError('internal', `lease ${spec.leaseId}: a user CA box needs the lease's principal (letters, digits, . _ -)`);
    if (spec.shared && !root) {
      throw new CrabboxError('invalid_config', 'a warm pool on the local provider needs the coordinator to run as root (each lease gets its own Unix user)', { hint: 'run `crabbox coordinator serve` as root, or remove the local pool' });
    }
    const shared = spec.shared === true;
    const user = shared ? 'root' : root ? leaseUserName(spec.leaseId) : userInfo().username;
    await privateDir(layout.machineDir);
    const state: LocalMachineState = {
      leaseId: spec.leaseId,
      labels: { ...spec.labels },
      host: '127.0.0.1',
      port: 0,
      sshUser: user,
      ownUser: root,
      boxDir: layout.boxDir,
      workRoot: shared ? join(layout.boxDir, BOX.leases) : layout.workRoot,
      hostKey: spec.hostKey.publicKey.trim(),
      phase: 'provisioning',
      createdAt: clock.now(),
      ...(shared ? { shared: true, ownUser: false } : {}),
    };
    // Written before anything else exists, so a crash from here on leaves something cleanup can find.
    await writeState(layout.stateFile, state);
    await createOptions.onProviderId?.(spec.leaseId);
    try {
      checkpoint(spec.leaseId);
      if (shared) await makeSharedBox(layout, boxesRoot);
      else await makeBox(layout, boxesRoot, spec.userCa ? '' : spec.sshPublicKey, {
        asRoot: root,
        principal: spec.userCa?.principal,
        createUser: async () => {
          checkpoint(spec.leaseId);
          const uid = reserveUid({ user, leaseId: spec.leaseId, machineDir: layout.machineDir });
          return createLeaseUser(user, layout.home, uid);
        },
      });
      checkpoint(spec.leaseId);
      // The box answers on loopback only; the certificate names exactly the addresses and name the CLI may dial.
      const hostCertificate = spec.signHostKey ? await spec.signHostKey(LOOPBACK_NAMES) : undefined;
      if (hostCertificate) state.hostKey = hostCertificate.trim();
      state.port = await startBox(layout, user, spec, shared, hostCertificate);
      checkpoint(spec.leaseId);
      state.phase = 'running';
      const latest = await readState(layout.stateFile);
      state.labels = latest?.labels ?? state.labels;
      await writeState(layout.stateFile, state);
      return await toMachine(state, layout);
    } catch (error) {
      await teardown(layout, root).catch(() => undefined);
      throw error;
    }
  }

  async function remove(leaseId: string): Promise<DeleteResult> {
    if (!isLeaseId(leaseId)) return 'already-gone';
    // The tombstone first: a create of this lease in flight (another process, or this one) stops at its next step.
    await gate.markReleased(leaseId);
    const inFlight = gate.busy(leaseId);
    const { found } = await gate.withLock(leaseId, DELETE_WAIT_MS, () => teardown(layoutOf(leaseId), root));
    return found || inFlight ? 'deleted' : 'already-gone';
  }

  async function sweepDangling(): Promise<DanglingSweepReport> {
    gate.prune(TOMBSTONE_MS);
    const report: DanglingSweepReport = { deleted: [], skipped: [] };
    for (const [leaseId, orphan] of findOrphans({ localDir, boxesRoot, asRoot: root })) {
      try {
        const layout = orphan.stateDir ? machineLayout({ stateDir: orphan.stateDir, boxesRoot, leaseId }) : layoutOf(leaseId);
        await gate.withLock(leaseId, DELETE_WAIT_MS, () => teardown(layout, root));
        report.deleted.push(danglingOf(orphan));
      } catch (error) {
        report.skipped.push({ ...danglingOf(orphan), reason: `${orphan.reason}; removing failed: ${(error as Error).message}` });
      }
    }
    return report;
  }

  return {
    name: 'local',
    capabilities: { labels: true, injectsHostKey: true, billable: false, local: true, danglingObjects: true, userCa: true, hostCertificate: true },

    async create(spec: MachineSpec, createOptions: CreateOptions = {}): Promise<Machine> {
      if (!isLeaseId(spec.leaseId)) throw new CrabboxError('bad_request', `malformed lease id ${JSON.stringify(spec.leaseId)}`);
      await privateDir(localDir);
      return gate.withLock(spec.leaseId, CREATE_WAIT_MS, () => build(spec, createOptions));
    },

    async get(providerId: string): Promise<Machine | undefined> {
      if (!isLeaseId(providerId)) return undefined;
      const layout = layoutOf(providerId);
      const state = await readState(layout.stateFile);
      return state ? toMachine(state, layout) : undefined;
    },

    async list(selector: Labels): Promise<Machine[]> {
      const out: Machine[] = [];
      for (const id of await machineIds(localDir)) {
        const layout = layoutOf(id);
        const state = await readState(layout.stateFile);
        if (!state) continue;
        if (Object.entries(selector).every(([k, v]) => state.labels[k] === v)) out.push(await toMachine(state, layout));
      }
      return out;
    },

    async setLabels(providerId: string, labels: Labels): Promise<void> {
      const state = isLeaseId(providerId) ? await readState(layoutOf(providerId).stateFile) : undefined;
      if (!state) throw new CrabboxError('not_found', `no local machine ${providerId}`);
      await writeState(layoutOf(providerId).stateFile, { ...state, labels: { ...labels } });
    },

    delete: remove,
    sweepDangling,

    async hourlyPrice(): Promise<number | undefined> {
      return 0;
    },
  };
}

/** The report's shape: what it was and why, without the internal state dir. */
function danglingOf({ stateDir: _stateDir, ...orphan }: Orphan): DanglingObject {
  return orphan;
}

import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { CreateOptions, DeleteResult, Machine, MachineSpec, Provider } from '../provider.ts';
import type { Labels } from '../../domain/labels.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { privateDir } from '../../ssh/keys.ts';
import { ROOT_BOXES_DIR, leaseUserName, machineLayout, type MachineLayout } from './layout.ts';
import { machineIds, readState, writeState, type LocalMachineState } from './state.ts';
import { ensurePrivsepDir, findSshd, freePort, isOurSshd, readPid, renderSshdConfig, startSshd, stopSshd, templatePath, writeSshdConfig } from './sshd.ts';
import { createLeaseUser, removeLeaseUser } from './users.ts';

export interface LocalProviderOptions {
  /** The CLI user's state dir; machines live under `<stateDir>/local/<leaseId>`. */
  stateDir: string;
  /** Parent of the per-lease box dirs (home, work root). Default: /var/tmp/crabbox-boxes as root, `<stateDir>/boxes` otherwise. */
  boxesRoot?: string | undefined;
  clock?: Pick<Clock, 'now'> | undefined;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The `local` provider: one private sshd per lease on a loopback port; a per-lease Unix user when run as root. */
export function createLocalProvider(options: LocalProviderOptions): Provider {
  const root = isRoot();
  const boxesRoot = options.boxesRoot ?? (root ? ROOT_BOXES_DIR : join(options.stateDir, 'boxes'));
  const localDir = join(options.stateDir, 'local');
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

  async function prepareBox(layout: MachineLayout, user: string, spec: MachineSpec): Promise<void> {
    if (!root) {
      // sshd's StrictModes walks from the key file up to the home dir and refuses world-writable parents (/tmp, /var/tmp).
      const home = userInfo().homedir.replace(/\/+$/, '');
      if (!layout.authorizedKeys.startsWith(`${home}/`)) {
        throw new CrabboxError('invalid_config', `local boxes must live under your home directory ${home} (sshd StrictModes), not ${boxesRoot}`, {
          hint: 'set local.workRoot in your user config to a directory under your home, or use the default state dir',
        });
      }
    }
    await mkdir(boxesRoot, { recursive: true, mode: root ? 0o711 : 0o700 });
    await mkdir(layout.boxDir, { mode: root ? 0o711 : 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await chmod(layout.boxDir, root ? 0o711 : 0o700);
    await mkdir(join(layout.home, '.ssh'), { recursive: true, mode: 0o700 });
    await mkdir(layout.workRoot, { recursive: true, mode: 0o700 });
    await writeFile(layout.authorizedKeys, `${spec.sshPublicKey.trim()}\n`, { mode: 0o600 });
    if (root) {
      const ids = await createLeaseUser(user, layout.home);
      // The key file and its dir stay root-owned (the user cannot change which key is accepted); home and work are the user's.
      await chmod(join(layout.home, '.ssh'), 0o755);
      await chmod(layout.authorizedKeys, 0o644);
      await chown(layout.home, ids.uid, ids.gid);
      await chown(layout.workRoot, ids.uid, ids.gid);
    }
  }

  async function startBox(layout: MachineLayout, user: string, spec: MachineSpec): Promise<number> {
    const sshd = findSshd();
    if (!sshd) throw new CrabboxError('missing_tool', 'sshd not found', { hint: 'install openssh-server (run `crabbox doctor`)' });
    await writeFile(layout.hostKey, spec.hostKey.privateKey.endsWith('\n') ? spec.hostKey.privateKey : `${spec.hostKey.privateKey}\n`, { mode: 0o600 });
    await writeFile(`${layout.hostKey}.pub`, `${spec.hostKey.publicKey.trim()}\n`, { mode: 0o600 });
    await ensurePrivsepDir();
    const template = await readFile(templatePath(), 'utf8');
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const text = renderSshdConfig(template, { port, hostKey: layout.hostKey, authorizedKeys: layout.authorizedKeys, pidFile: layout.pidFile, user });
      await writeSshdConfig(layout.sshdConfig, text);
      try {
        await startSshd({ sshd, configFile: layout.sshdConfig, logFile: layout.log, pidFile: layout.pidFile });
        return port;
      } catch (error) {
        lastError = error; // most likely someone took the port between probe and bind; try another
      }
    }
    throw lastError;
  }

  async function remove(leaseId: string): Promise<DeleteResult> {
    if (!isLeaseId(leaseId)) return 'already-gone';
    const layout = layoutOf(leaseId);
    const state = await readState(layout.stateFile);
    let found = false;
    if (await stopSshd(layout.pidFile, layout.sshdConfig)) found = true;
    if (root && (await removeLeaseUser(leaseUserName(leaseId)))) found = true;
    // The state file names the box dir it used (boxesRoot may have changed since); accept it only if it is this lease's.
    const boxDirs = new Set([layout.boxDir]);
    if (state?.boxDir && state.boxDir.endsWith(`/${leaseId}`)) boxDirs.add(state.boxDir);
    for (const dir of [...boxDirs, layout.machineDir]) {
      if (existsSync(dir)) {
        await rm(dir, { recursive: true, force: true });
        found = true;
      }
    }
    return found ? 'deleted' : 'already-gone';
  }

  return {
    name: 'local',
    capabilities: { labels: true, injectsHostKey: true, billable: false, local: true, danglingObjects: false },

    async create(spec: MachineSpec, createOptions: CreateOptions = {}): Promise<Machine> {
      if (!isLeaseId(spec.leaseId)) throw new CrabboxError('bad_request', `malformed lease id ${JSON.stringify(spec.leaseId)}`);
      const layout = layoutOf(spec.leaseId);
      const existing = await readState(layout.stateFile);
      if (existing) {
        const machine = await toMachine(existing, layout);
        if (machine.status === 'running') return machine;
        await remove(spec.leaseId); // a half-made box from a crash: rebuild it from scratch
      }
      const user = root ? leaseUserName(spec.leaseId) : userInfo().username;
      await privateDir(localDir);
      await privateDir(layout.machineDir);
      const state: LocalMachineState = {
        leaseId: spec.leaseId,
        labels: { ...spec.labels },
        host: '127.0.0.1',
        port: 0,
        sshUser: user,
        ownUser: root,
        boxDir: layout.boxDir,
        workRoot: layout.workRoot,
        hostKey: spec.hostKey.publicKey.trim(),
        phase: 'provisioning',
        createdAt: (options.clock ?? systemClock).now(),
      };
      // Written before anything else exists, so a crash from here on leaves something cleanup can find.
      await writeState(layout.stateFile, state);
      await createOptions.onProviderId?.(spec.leaseId);
      try {
        await prepareBox(layout, user, spec);
        state.port = await startBox(layout, user, spec);
        state.phase = 'running';
        const latest = await readState(layout.stateFile);
        state.labels = latest?.labels ?? state.labels;
        await writeState(layout.stateFile, state);
        return toMachine(state, layout);
      } catch (error) {
        await remove(spec.leaseId).catch(() => undefined);
        throw error;
      }
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

    async hourlyPrice(): Promise<number | undefined> {
      return 0;
    },
  };
}


import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIO } from '../cli/context.ts';
import type { InterruptName } from '../cli/interrupts.ts';
import { ManualClock } from '../domain/clock.ts';
import { tempDir } from '../testing/tmp.ts';
import { buildId } from './build-id.ts';
import { runViaRunner, type RunnerOutcome } from './client.ts';
import { startRunner, type RunnerDeps } from './server.ts';
import { runnerSocketPath } from './socket-path.ts';

interface Harness {
  env: NodeJS.ProcessEnv;
  cwd: string;
  socketPath: string;
  clock: ManualClock;
  calls: CliIO[];
  adopted: NodeJS.ProcessEnv[];
  undone: number;
  remove(): void;
}

function harness(): Harness {
  const tmp = tempDir('crabbox-runner-');
  const env = { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state'), PATH: '/usr/bin' };
  const cwd = join(tmp.path, 'repo');
  return { env, cwd, socketPath: runnerSocketPath(env, cwd, true)!, clock: new ManualClock(), calls: [], adopted: [], undone: 0, remove: tmp.remove };
}

function start(h: Harness, main: RunnerDeps['main'], extra: Partial<RunnerDeps> = {}) {
  return startRunner({
    socketPath: h.socketPath,
    cwd: h.cwd,
    env: h.env,
    build: buildId,
    clock: h.clock,
    adoptEnv: (env) => {
      h.adopted.push(env);
      return () => void h.undone++;
    },
    main: async (io) => {
      h.calls.push(io);
      return main(io);
    },
    ...extra,
  });
}

/** A client as the CLI's entry runs it, with captured output and signals the test raises. */
function client(h: Harness, argv: string[], env: NodeJS.ProcessEnv = h.env) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough().on('data', (b: Buffer) => err.push(b));
  const handlers = new Set<(sig: InterruptName) => void>();
  const outcome: Promise<RunnerOutcome> = runViaRunner({
    argv, env, cwd: h.cwd, stdout, stderr, clock: h.clock, startedAt: 1234,
    onSignal: (handler) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  });
  return {
    outcome,
    signal: (sig: InterruptName) => handlers.forEach((f) => f(sig)),
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
  };
}

const RUN = ['run', '--id', 'blue-mantis', '--', 'true'];

/** A command that says `started`, then runs until its first interrupt (noting each one) and exits 143. */
function untilInterrupted(heard: InterruptName[]): RunnerDeps['main'] {
  return async (io) => {
    const stopped = new Promise<void>((resolve) => io.interrupts!.listen((sig) => {
      heard.push(sig);
      resolve();
    }));
    io.stdout.write('started\n');
    await stopped;
    return 143;
  };
}

/** Resolves once `check` holds, turning the event loop (sockets) in between; fails after a while. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'condition not reached');
}

describe('the warm runner', { timeout: 10_000 }, () => {
  it('runs the CLI with the client\'s argv, environment, start time and streams, and relays its output and exit code', async (t) => {
    const h = harness();
    t.after(h.remove);
    const runner = await start(h, async (io) => {
      io.stdout.write('out 1\n');
      io.stderr.write('err 1\n');
      io.stdout.write('out 2\n');
      return 3;
    });
    const env = { ...h.env, EXTRA: 'from the client' };
    const c = client(h, RUN, env);
    assert.deepEqual(await c.outcome, { served: true, code: 3 });
    assert.equal(c.stdout(), 'out 1\nout 2\n');
    assert.equal(c.stderr(), 'err 1\n');
    const io = h.calls[0]!;
    assert.deepEqual([io.argv, io.cwd, io.env.EXTRA, io.startedAt], [RUN, h.cwd, 'from the client', 1234]);
    assert.deepEqual(h.adopted.map((e) => e.EXTRA), ['from the client']);
    assert.equal(h.undone, 1, 'the environment is put back after the run');
    await runner.close();
    assert.equal(await runner.stopped, 'closed');
    assert.equal(existsSync(h.socketPath), false, 'the socket is removed');
  });

  it('is asked nothing when no runner listens, and says to start one', async (t) => {
    const h = harness();
    t.after(h.remove);
    const outcome = await client(h, RUN).outcome;
    assert.deepEqual([outcome.served, outcome.served ? undefined : outcome.start], [false, true]);
  });

  it('refuses other Node settings and a second run at once, running nothing; another directory finds no runner', async (t) => {
    const h = harness();
    t.after(h.remove);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const runner = await start(h, async () => {
      await held;
      return 0;
    });
    const other = client(h, RUN, { ...h.env, NODE_OPTIONS: '--max-old-space-size=64' });
    assert.deepEqual(await other.outcome, { served: false, start: false, reason: 'the runner refused: env' });
    const busyFirst = client(h, RUN);
    await until(() => h.calls.length === 1);
    const busy = await client(h, RUN).outcome;
    assert.deepEqual(busy, { served: false, start: false, reason: 'the runner refused: busy' });
    release();
    assert.deepEqual(await busyFirst.outcome, { served: true, code: 0 });
    const elsewhere = await runViaRunner({ argv: RUN, env: h.env, cwd: join(h.cwd, 'sub'), stdout: new PassThrough(), stderr: new PassThrough(), clock: h.clock, startedAt: 0, onSignal: () => () => undefined });
    assert.equal(elsewhere.served, false, 'another directory has its own socket, where nothing listens');
    assert.equal(h.calls.length, 1);
    await runner.close();
  });

  it('a runner of another build refuses as stale, removes its socket and stops; the client is told to start a new one', async (t) => {
    const h = harness();
    t.after(h.remove);
    const runner = await start(h, async () => 0, { build: 'an older build' });
    const outcome = await client(h, RUN).outcome;
    assert.deepEqual(outcome, { served: false, start: true, reason: 'the runner refused: stale' });
    assert.equal(await runner.stopped, 'stale');
    assert.equal(existsSync(h.socketPath), false);
    assert.equal(h.calls.length, 0);
  });

  it('relays Ctrl-C to the command; a second one ends the client at once while the command finishes in the runner', async (t) => {
    const h = harness();
    t.after(h.remove);
    const heard: InterruptName[] = [];
    let finishCommand!: () => void;
    const finished = new Promise<void>((r) => (finishCommand = r));
    let ended = false;
    const runner = await start(h, async (io) => {
      io.interrupts!.listen((sig) => {
        heard.push(sig);
        if (heard.length === 2) io.interrupts!.exitNow(130);
      });
      io.stdout.write('started\n');
      await finished;
      ended = true;
      return 0;
    });
    const c = client(h, RUN);
    await until(() => c.stdout() === 'started\n');
    c.signal('SIGINT');
    await until(() => heard.length === 1);
    c.signal('SIGINT');
    assert.deepEqual(await c.outcome, { served: true, code: 130 });
    assert.equal(ended, false, 'the command is still finishing in the runner');
    finishCommand();
    await runner.close();
    assert.equal(ended, true);
    assert.deepEqual(heard, ['SIGINT', 'SIGINT']);
  });

  it('stops the command as SIGTERM would when the client goes away', async (t) => {
    const h = harness();
    t.after(h.remove);
    const heard: InterruptName[] = [];
    const runner = await start(h, untilInterrupted(heard));
    const path = h.socketPath;
    const { connect } = await import('node:net');
    const { frame, FrameReader } = await import('./frames.ts');
    const socket = connect(path);
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) if (f.type === 'a') socket.write(frame('g', ''));
      else if (f.type === 'o') socket.destroy();
    });
    socket.write(frame('q', JSON.stringify({ v: 1, build: buildId, argv: RUN, cwd: h.cwd, env: h.env, startedAt: 0 })));
    await until(() => heard.length === 1);
    assert.deepEqual(heard, ['SIGTERM']);
    await runner.close();
  });

  it('reports a runner that vanishes mid-run with exit 70, and never runs the command twice', async (t) => {
    const h = harness();
    t.after(h.remove);
    // A stand-in that accepts and then dies, as a runner killed with -9 would.
    const server = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        if (chunk[0] === 'q'.charCodeAt(0)) socket.write(Buffer.from('a\0\0\0\0'));
        else if (chunk[0] === 'g'.charCodeAt(0)) socket.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(h.socketPath, r));
    t.after(() => server.close());
    const c = client(h, RUN);
    assert.deepEqual(await c.outcome, { served: true, code: 70 });
    assert.match(c.stderr(), /^crabbox: the warm runner stopped before the command finished/);
  });

  it('takes over the socket a dead runner left, and does not start beside a live one', async (t) => {
    const h = harness();
    t.after(h.remove);
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(h.socketPath, r));
    // Closing a listener without unlinking its path leaves what a crashed runner leaves: a socket nobody answers on.
    await new Promise<void>((r) => dead.close(() => r()));
    if (!existsSync(h.socketPath)) {
      // Node removed the path on close: make the leftover by hand.
      const { execFileSync } = await import('node:child_process');
      execFileSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(h.socketPath)})`]);
    }
    const runner = await start(h, async () => 0);
    await assert.rejects(start(h, async () => 0), /EADDRINUSE/);
    assert.deepEqual(await client(h, RUN).outcome, { served: true, code: 0 });
    await runner.close();
  });

  it('on close, stops a running command as SIGTERM would and waits for it before it stops', async (t) => {
    const h = harness();
    t.after(h.remove);
    const heard: InterruptName[] = [];
    const runner = await start(h, untilInterrupted(heard));
    const c = client(h, RUN);
    await until(() => c.stdout() === 'started\n');
    const closed = runner.close();
    assert.deepEqual(await c.outcome, { served: true, code: 143 });
    await closed;
    assert.equal(await runner.stopped, 'closed');
    assert.deepEqual(heard, ['SIGTERM']);
  });

  it('a runner whose socket was replaced by another runner\'s stops and leaves the new socket in place', async (t) => {
    const h = harness();
    t.after(h.remove);
    const old = await start(h, async () => 1, { checkMs: 1_000 });
    unlinkSync(h.socketPath);
    const successor = await start(h, async () => 0, { checkMs: 60_000 });
    await h.clock.tick(1_000);
    assert.equal(await old.stopped, 'socket gone');
    assert.equal(existsSync(h.socketPath), true, 'the successor\'s socket is still there');
    assert.deepEqual(await client(h, RUN).outcome, { served: true, code: 0 }, 'and the successor serves');
    await successor.close();
  });

  it('stops after its idle time, and at once when its socket is removed', async (t) => {
    const h = harness();
    t.after(h.remove);
    const idle = await start(h, async () => 0, { idleMs: 60_000, checkMs: 1_000 });
    assert.deepEqual(await client(h, RUN).outcome, { served: true, code: 0 });
    h.clock.advance(59_000);
    await h.clock.tick(0);
    assert.equal(existsSync(h.socketPath), true, 'not idle long enough yet');
    await h.clock.tick(1_000);
    assert.equal(await idle.stopped, 'idle');
    assert.equal(existsSync(h.socketPath), false);

    const gone = await start(h, async () => 0, { checkMs: 1_000 });
    unlinkSync(h.socketPath);
    await h.clock.tick(1_000);
    assert.equal(await gone.stopped, 'socket gone');
  });
});

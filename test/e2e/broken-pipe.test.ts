// `crabbox run -- <command> | head`: the reader of crabbox's output goes away mid-stream. Crabbox must not die of it
// (an unhandled EPIPE left the fresh lease running until its idle deadline): the command's output still reaches the
// run record's tail, the run ends with the command's exit code, and the fresh lease is released.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-pipe-' });

/** Runs bin/crabbox with `which` stream read for one line and then closed, the other captured; resolves on exit. */
function runIntoHead(repo: string, argv: string[], which: 'stdout' | 'stderr'): Promise<{ code: number | null; first: string; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env: sandbox.env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const head = child[which];
    const other = which === 'stdout' ? child.stderr : child.stdout;
    let first = '';
    let rest = '';
    head.on('data', (b: Buffer) => {
      first += b.toString();
      if (first.includes('\n')) head.destroy(); // like `head -1`: read a line, then close the pipe
    });
    other.on('data', (b: Buffer) => { rest += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, first: first.split('\n')[0]!, other: rest });
    });
  });
}

async function liveLeases(): Promise<string[]> {
  const r = await runCli(['list', '--json'], { env: sandbox.env, cwd: sandbox.path });
  return (JSON.parse(r.stdout) as { leases: { id: string }[] }).leases.map((l) => l.id);
}

describe('crabbox run whose output reader goes away', () => {
  after(() => sandbox.remove());

  for (const which of ['stdout', 'stderr'] as const) {
    it(`${which} closed after one line: the command finishes, the fresh lease is released, the exit code is the command's`, async () => {
      const repo = join(sandbox.path, which);
      initRepo(repo, { 'README.md': 'x\n' });
      const cmd = which === 'stdout' ? 'seq 1 200000; echo done >&2' : 'seq 1 200000 >&2; echo done';
      const r = await runIntoHead(repo, ['run', '--shell', '--', cmd], which);
      assert.equal(r.first, '1');
      assert.doesNotMatch(r.other, /EPIPE|Unhandled|node:/, 'no stack trace');
      assert.equal(r.code, 0, r.other);
      assert.match(r.other, /done/, 'the command ran to its end');
      assert.deepEqual(await liveLeases(), [], 'the fresh lease is released');
    });
  }
});

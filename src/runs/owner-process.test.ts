import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { currentProcess, ownerGone } from './owner-process.ts';

test('this process is not gone; a reused pid (other start time) is', () => {
  const me = currentProcess();
  assert.equal(me.pid, process.pid);
  assert.match(me.startTicks ?? '', /^\d+$/);
  assert.equal(ownerGone(me), false);
  assert.equal(ownerGone({ pid: process.pid, startTicks: `${me.startTicks}0` }), true);
});

test('a child that exited is gone', async () => {
  const child = spawn('true');
  await once(child, 'exit');
  assert.ok(child.pid);
  assert.equal(ownerGone({ pid: child.pid }), true);
});

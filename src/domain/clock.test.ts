import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, offsetClock, systemClock } from './clock.ts';

describe('ManualClock', () => {
  it('fires timers only when time is advanced past them, in due order, each at its own time', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(150);
    assert.deepEqual(fired, ['a@1100', 'b@1200']);
    assert.equal(clock.now(), 1_249);
    assert.equal(clock.pending, 0);
  });

  it('repeats intervals until cancelled; a cancelled timeout never fires', () => {
    const clock = new ManualClock(0);
    let ticks = 0;
    const interval = clock.setInterval(() => ticks++, 10);
    const never = clock.setTimeout(() => assert.fail('cancelled timer fired'), 5);
    never.cancel();
    clock.advance(35);
    assert.equal(ticks, 3);
    interval.cancel();
    interval.cancel();
    clock.advance(100);
    assert.equal(ticks, 3);
  });

  it('resolves a sleep when advanced and rejects it when its signal aborts', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(1_000).then(() => (woke = true));
    await clock.waitForTimers(1);
    clock.advance(999);
    await Promise.resolve();
    assert.equal(woke, false);
    clock.advance(1);
    await sleeping;
    assert.equal(woke, true);

    const controller = new AbortController();
    const aborted = clock.sleep(1_000, controller.signal);
    controller.abort();
    await assert.rejects(aborted, (e: Error) => e.name === 'AbortError');
    assert.equal(clock.pending, 0, 'an aborted sleep leaves no timer behind');
  });

  it('tick lets async continuations schedule the next wait before moving on', async () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        seen.push(clock.now());
      }
    })();
    await clock.tick(300);
    await loop;
    assert.deepEqual(seen, [100, 200, 300]);
  });

  it('autoAdvance jumps to each wait and stops when told', async () => {
    const clock = new ManualClock(0);
    const stop = clock.autoAdvance();
    await clock.sleep(60_000);
    await clock.sleep(60_000);
    stop();
    assert.equal(clock.now(), 120_000);
  });

  it('set jumps forward (firing due timers) and backward (firing nothing)', () => {
    const clock = new ManualClock(10_000);
    let fired = 0;
    clock.setTimeout(() => fired++, 1_000);
    clock.set(5_000);
    assert.equal(fired, 0);
    clock.set(20_000);
    assert.equal(fired, 1);
  });

  it('waitForTimers fails clearly when nothing ever waits', async () => {
    await assert.rejects(new ManualClock().waitForTimers(1, 5), /expected 1 pending timer/);
  });
});

describe('systemClock', () => {
  it('sleeps for real and honours an abort', async () => {
    const start = systemClock.now();
    await systemClock.sleep(20);
    assert.ok(systemClock.now() - start >= 15);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
  });

  it('offsetClock shifts now only', () => {
    const shifted = offsetClock(systemClock, 3_600_000);
    assert.ok(shifted.now() - systemClock.now() >= 3_599_000);
    assert.equal(shifted.sleep, systemClock.sleep);
  });
});

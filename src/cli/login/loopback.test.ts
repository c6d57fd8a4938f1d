import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startLoopback } from './loopback.ts';

describe('login loopback listener', () => {
  it('listens on 127.0.0.1 only and fires only for the expected login id with a code, and hands the code over', async () => {
    const listener = await startLoopback();
    try {
      listener.expect('login_aaaaaaaaaaaaaaaaaaaaaaaa');
      let fired = false;
      void listener.arrived.then(() => (fired = true));
      const base = `http://127.0.0.1:${listener.port}`;
      assert.equal((await fetch(`${base}/callback?login=login_bbbbbbbbbbbbbbbbbbbbbbbb`)).status, 404);
      assert.equal((await fetch(`${base}/other`)).status, 404);
      assert.equal((await fetch(`${base}/callback?login=login_aaaaaaaaaaaaaaaaaaaaaaaa`)).status, 404);
      await new Promise((r) => setImmediate(r));
      assert.equal(fired, false);
      const ok = await fetch(`${base}/callback?login=login_aaaaaaaaaaaaaaaaaaaaaaaa&code=BCDF-GHJK`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /return to your terminal/);
      assert.equal(await listener.arrived, 'BCDF-GHJK');
      assert.equal(fired, true);
    } finally {
      await listener.close();
    }
  });
});

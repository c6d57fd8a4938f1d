import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, type StoreFactory } from './fixtures.ts';

/** LoginStore: what every backend must do. */
export function loginContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`LoginStore contract: ${name}`, () => {
    test('pending logins are bounded in total and per source, and long-expired ones are pruned', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      const login = (id: string, source: string, at = now) => ({ id, stateHash: `state-${id}`, secretHash: `secret-${id}`, source, port: 4567, createdAt: at, expiresAt: at + 600_000 });
      const limits = { maxPending: 3, maxPendingPerSource: 2, now };
      assert.equal(await store.createLogin(login('l1', 'a'), limits), 'created');
      assert.equal(await store.createLogin(login('l2', 'a'), limits), 'created');
      assert.equal(await store.createLogin(login('l3', 'a'), limits), 'too-many-from-source');
      // Finishing a login (even as denied) does not free its slot before it expires.
      await store.updateLogin('l2', ['pending'], { status: 'denied', message: 'no' });
      assert.equal(await store.createLogin(login('l3', 'a'), limits), 'too-many-from-source');
      assert.equal(await store.createLogin(login('l4', 'b'), limits), 'created');
      assert.equal(await store.createLogin(login('l5', 'c'), limits), 'too-many');
      const got = await store.getLogin('l1');
      assert.deepEqual(got, { ...login('l1', 'a'), address: undefined, phrase: undefined, confirmedAt: undefined, browserHash: undefined, status: 'pending', kind: 'cli', owner: undefined, org: undefined, login: undefined, message: undefined, codeHash: undefined });
      assert.equal((await store.getLoginByState('state-l2'))?.id, 'l2');
      assert.equal(await store.getLogin('l3'), undefined);
      // Two hours later the old rows are gone and the bounds are free again.
      const later = { ...limits, now: now + 2 * 3_600_000 };
      assert.equal(await store.createLogin(login('l6', 'a', later.now), later), 'created');
      assert.equal(await store.getLogin('l1'), undefined);
    });

    test('a login keeps its address and phrase, and is confirmed once, by one browser, only while pending', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      const limits = { maxPending: 10, maxPendingPerSource: 10, now };
      const base = { secretHash: 'h', source: '2001:db8:1:2::/64', address: '2001:db8:1:2::7', phrase: 'otter-maple-reef', createdAt: now, expiresAt: now + 600_000 };
      await store.createLogin({ ...base, id: 'lc', stateHash: 'sc' }, limits);
      assert.deepEqual([(await store.getLogin('lc'))?.address, (await store.getLogin('lc'))?.phrase, (await store.getLogin('lc'))?.confirmedAt], ['2001:db8:1:2::7', 'otter-maple-reef', undefined]);
      const confirmed = await store.confirmLogin('lc', { browserHash: 'b1', now: now + 5 });
      assert.deepEqual([confirmed?.confirmedAt, confirmed?.browserHash, confirmed?.status], [now + 5, 'b1', 'pending']);
      assert.equal(await store.confirmLogin('lc', { browserHash: 'b2', now: now + 6 }), undefined, 'a second browser cannot take it over');
      assert.equal((await store.getLogin('lc'))?.browserHash, 'b1');
      await store.createLogin({ ...base, id: 'ld', stateHash: 'sd' }, limits);
      await store.updateLogin('ld', ['pending'], { status: 'denied', message: 'no' });
      assert.equal(await store.confirmLogin('ld', { browserHash: 'b3', now }), undefined, 'only a pending login');
      assert.equal(await store.confirmLogin('nope', { browserHash: 'b4', now }), undefined);
    });

    test('a login started by the dashboard is of kind web; one from the CLI of kind cli', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      const limits = { maxPending: 10, maxPendingPerSource: 10, now };
      await store.createLogin({ id: 'lw', stateHash: 'sw', secretHash: 'h', source: 's', kind: 'web', createdAt: now, expiresAt: now + 600_000 }, limits);
      await store.createLogin({ id: 'lk', stateHash: 'sk', secretHash: 'h', source: 's', createdAt: now, expiresAt: now + 600_000 }, limits);
      assert.equal((await store.getLogin('lw'))?.kind, 'web');
      assert.equal((await store.getLoginByState('sk'))?.kind, 'cli');
    });

    test('a login moves on only from the expected status (compare-and-set)', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      await store.createLogin({ id: 'lx', stateHash: 'sx', secretHash: 'hx', source: 's', createdAt: now, expiresAt: now + 600_000 }, { maxPending: 10, maxPendingPerSource: 10, now });
      const checking = await store.updateLogin('lx', ['pending'], { status: 'checking' });
      assert.equal(checking?.status, 'checking');
      assert.equal(checking?.port, undefined);
      assert.equal(await store.updateLogin('lx', ['pending'], { status: 'checking' }), undefined);
      const approved = await store.updateLogin('lx', ['checking'], { status: 'approved', owner: 'github-1', org: 'acme', login: 'alice', codeHash: 'c0de' });
      assert.deepEqual([approved?.status, approved?.owner, approved?.org, approved?.login, approved?.codeHash], ['approved', 'github-1', 'acme', 'alice', 'c0de']);
      assert.equal(await store.updateLogin('lx', ['pending', 'checking'], { status: 'denied', message: 'late' }), undefined);
      assert.equal((await store.updateLogin('lx', ['approved'], { status: 'delivered' }))?.owner, 'github-1');
      assert.equal(await store.updateLogin('lx', ['approved'], { status: 'delivered' }), undefined);
    });
  });
}

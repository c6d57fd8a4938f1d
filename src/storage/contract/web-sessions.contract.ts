import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { WebSessionRecord } from '../ports/web-sessions.ts';
import { contractTest, HOUR, T0, type StoreFactory } from './fixtures.ts';

const session = (id: string, o: Partial<WebSessionRecord> = {}): WebSessionRecord => ({
  id, secretHash: `hash-${id}`, owner: 'github-1001', org: 'acme', login: 'alice', role: 'user', createdAt: T0, lastSeenAt: T0,
  expiresAt: T0 + HOUR, absoluteExpiresAt: T0 + 12 * HOUR, ...o,
});

/** WebSessionStore: what every backend must do. */
export function webSessionContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`WebSessionStore contract: ${name}`, () => {
    test('a session is stored with every field and read back by id', async (store) => {
      const full = session('s1', { role: 'admin', accessIdentity: 'alice@acme.example', address: '192.0.2.7', userAgent: 'Chrome 140 on Linux' });
      await store.createWebSession(full, T0);
      assert.deepEqual(await store.getWebSession('s1'), full);
      await store.createWebSession(session('s2'), T0);
      assert.deepEqual(await store.getWebSession('s2'), { ...session('s2'), accessIdentity: undefined, address: undefined, userAgent: undefined });
      assert.equal(await store.getWebSession('nope'), undefined);
    });

    test('use moves the idle deadline, never past the absolute one', async (store) => {
      await store.createWebSession(session('s1'), T0);
      assert.equal(await store.touchWebSession('s1', { lastSeenAt: T0 + HOUR / 2, expiresAt: T0 + 1.5 * HOUR }), true);
      assert.deepEqual([(await store.getWebSession('s1'))?.lastSeenAt, (await store.getWebSession('s1'))?.expiresAt], [T0 + HOUR / 2, T0 + 1.5 * HOUR]);
      await store.touchWebSession('s1', { lastSeenAt: T0 + 11.9 * HOUR, expiresAt: T0 + 13 * HOUR });
      assert.equal((await store.getWebSession('s1'))?.expiresAt, T0 + 12 * HOUR);
      assert.equal(await store.touchWebSession('gone', { lastSeenAt: T0, expiresAt: T0 }), false);
    });

    test('the owner lists their unexpired sessions newest first and deletes only their own', async (store) => {
      await store.createWebSession(session('s1'), T0);
      await store.createWebSession(session('s2', { createdAt: T0 + 1 }), T0);
      await store.createWebSession(session('s3', { owner: 'github-1002', login: 'bob' }), T0);
      await store.createWebSession(session('s4', { expiresAt: T0 + 10 }), T0);
      assert.deepEqual((await store.listWebSessions('github-1001', T0 + 20)).map((s) => s.id), ['s2', 's1']);
      assert.equal(await store.deleteWebSession('s3', 'github-1001'), false, 'not the owner');
      assert.ok(await store.getWebSession('s3'));
      assert.equal(await store.deleteWebSession('s1', 'github-1001'), true);
      assert.equal(await store.getWebSession('s1'), undefined);
      assert.equal(await store.deleteWebSession('s1'), false);
      assert.equal(await store.deleteWebSession('s3'), true);
    });

    test('making a session deletes the ones past either deadline', async (store) => {
      await store.createWebSession(session('idle', { expiresAt: T0 + 10 }), T0);
      await store.createWebSession(session('old', { absoluteExpiresAt: T0 + 20, expiresAt: T0 + 20 }), T0);
      await store.createWebSession(session('live'), T0);
      await store.createWebSession(session('new', { createdAt: T0 + 30 }), T0 + 30);
      assert.equal(await store.getWebSession('idle'), undefined);
      assert.equal(await store.getWebSession('old'), undefined);
      assert.ok(await store.getWebSession('live'));
    });
  });
}

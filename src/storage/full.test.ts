import assert from 'node:assert/strict';
import { it } from 'node:test';
import { diskFull } from './full.ts';

it('a full disk under SQLite, the file system or PostgreSQL is a 503 saying so; other store errors are not', () => {
  const sqlite = Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 });
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const postgres = Object.assign(new Error('could not extend file "base/16384/2619": No space left on device'), { code: '53100' });
  for (const error of [sqlite, enospc, postgres]) {
    const mapped = diskFull(error);
    assert.equal(mapped?.code, 'unavailable', String(error));
    assert.equal(mapped?.status, 503);
    assert.match(mapped!.message, /disk is full; nothing was changed/);
  }
  for (const other of [new Error('SQLITE_BUSY: database is locked'), Object.assign(new Error('unique violation'), { code: '23505' }), undefined, 'text']) assert.equal(diskFull(other), undefined);
});

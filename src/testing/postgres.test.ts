import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import pg from 'pg';
import { startPostgres } from './postgres.ts';

/** Command lines of every process that mentions `needle` (a cluster's temp dir). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe('startPostgres (test helper)', () => {
  it('serves a throwaway cluster on loopback and stop() leaves no server process or files behind', async () => {
    const server = await startPostgres();
    let dir: string;
    try {
      assert.equal(new URL(server.url).hostname, '127.0.0.1');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const [row] = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows;
      await client.end();
      dir = row!.data_directory.replace(/\/data$/, '');
      assert.match(dir, /crabbox-pg-/);
      assert.notDeepEqual(processesMentioning(dir), []);
    } finally {
      await server.stop();
    }
    assert.deepEqual(processesMentioning(dir), []);
    assert.equal(existsSync(dir), false);
  });
});

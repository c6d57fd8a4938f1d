import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServe } from '../../testing/serve.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
import { heapReexec, HEAP_FLAGS, isServe } from './heap.ts';

const proc = (argv: string[], execArgv: string[] = [], env: NodeJS.ProcessEnv = {}) => ({ execPath: '/node', execArgv, argv: ['/node', '/bin/crabbox', ...argv], env, execve: () => undefined });

describe('coordinator serve heap flags', () => {
  it('re-executes only `coordinator serve`, with the flags first and the original argv after', () => {
    assert.deepEqual(heapReexec(proc(['coordinator', 'serve', '--port', '0'], ['--enable-source-maps'])), ['/node', ...HEAP_FLAGS, '--enable-source-maps', '/bin/crabbox', 'coordinator', 'serve', '--port', '0']);
    assert.deepEqual(heapReexec(proc(['--debug', 'coordinator', 'serve']))?.slice(-3), ['--debug', 'coordinator', 'serve']);
    for (const argv of [['run', '--', 'coordinator', 'serve'], ['coordinator', 'issue-token'], ['serve'], ['--version']]) assert.equal(heapReexec(proc(argv)), undefined, argv.join(' '));
    assert.equal(isServe(['run', 'coordinator', 'serve']), false);
  });

  it('does not loop, keeps the operator\'s own flags, and does nothing without execve', () => {
    assert.equal(heapReexec(proc(['coordinator', 'serve'], [...HEAP_FLAGS])), undefined);
    assert.deepEqual(heapReexec(proc(['coordinator', 'serve'], ['--max-semi-space-size=16'])), ['/node', '--max-old-space-size=1024', '--max-semi-space-size=16', '/bin/crabbox', 'coordinator', 'serve']);
    assert.equal(heapReexec(proc(['coordinator', 'serve'], [], { NODE_OPTIONS: '--max-old-space-size=4096 --max-semi-space-size=8' })), undefined);
    assert.equal(heapReexec({ ...proc(['coordinator', 'serve']), execve: undefined }), undefined);
  });

  it('the real `coordinator serve` runs with the flags under the pid it was started as, and still stops cleanly', async (t) => {
    const dir = tempDir('crabbox-heap-');
    t.after(() => dir.remove());
    const serve = await startServe(isolatedEnv(dir.path, { CRABBOX_SHARED_TOKEN: 'heap-test-shared-token-0123456789' }), ['--providers', 'fake', '--db', join(dir.path, 'db.sqlite')]);
    try {
      const cmdline = readFileSync(`/proc/${serve.child.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of HEAP_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
      assert.equal((await fetch(`${serve.url}/v1/health`)).status, 200);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });
});

// A signal that lands while the command's login shell is still reading its profile is held until the profile is done
// (the wrapper's ready token), so it reaches the command instead of being absorbed by the profile's own child. The
// real wrapper runs under bash; the box's HOME is a folder of this test with a slow profile.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { systemClock } from '../domain/clock.ts';
import { tempDir } from '../testing/tmp.ts';
import { localBox } from '../testing/local-box.ts';
import { startRemoteRun } from './session.ts';

const tmp = tempDir('crabbox-signal-hold-');
const home = process.env.HOME;
after(() => {
  process.env.HOME = home;
  tmp.remove();
});

test('Ctrl-C during the login profile waits for it, then stops the command (each run with its own ready token)', async () => {
  const boxHome = join(tmp.path, 'home');
  mkdirSync(boxHome);
  const done = join(boxHome, 'profile-done');
  // Without the hold, the signal would stop the profile's sleep and the login shell with it: no profile-done.
  // noclobber: the ready file is there from the first round, and the mark must still replace it.
  writeFileSync(join(boxHome, '.bash_profile'), 'set -o noclobber\nsleep 2\n: >| "$HOME/profile-done"\n');
  process.env.HOME = boxHome; // the box (`sh -c` here) and its login shell inherit it
  const box = localBox(tmp.path);
  const workdir = join(tmp.path, 'w');
  const metadir = join(tmp.path, '.crabbox', 'w');
  for (const round of [1, 2]) {
    rmSync(done, { force: true });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (b: Buffer) => chunks.push(b));
    let sentDuringProfile: boolean | undefined;
    const remote = startRemoteRun({
      box, workdir, metadir, env: [], lockWaitSeconds: 30, sync: undefined, stdout: out, stderr: new PassThrough().resume(), clock: systemClock,
      command: { mode: 'argv', args: ['sh', '-c', 'sleep 5; echo finished'] },
      onProgress: (e) => {
        if (e.type !== 'started') return;
        sentDuringProfile = !existsSync(done);
        remote.interrupt('INT');
      },
    });
    const result = await remote.result;
    assert.equal(sentDuringProfile, true, `round ${round}: the signal went out while the profile still ran`);
    assert.ok(existsSync(done), `round ${round}: the profile ran to its end`);
    assert.equal(result.exitCode, 130, `round ${round}: the command was stopped by the signal`);
    assert.equal(Buffer.concat(chunks).toString('utf8'), '', `round ${round}: the command did not run to its end`);
    // The file stays (removing it would cost a process per run): the second round starts with the first one's token
    // there, which must not count as ready.
    assert.ok(existsSync(join(metadir, 'ready')), `round ${round}: the ready file is left for the next run`);
  }
});

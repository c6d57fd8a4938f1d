import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../src/domain/clock.ts';
import { selectEnv } from '../src/env/select.ts';
import { clearSecrets } from '../src/redact/redact.ts';
import { createRedactStream } from '../src/redact/stream.ts';
import { summarizeJUnit } from '../src/results/junit.ts';
import { resultObject, formatSummaryLine } from '../src/run/summary.ts';
import { createLocalRunRecorder } from '../src/runs/local-recorder.ts';
import { LogTail } from '../src/runs/log-tail.ts';
import { LocalRunStore } from '../src/runs/store.ts';
import { runBin, runCli } from '../src/testing/cli.ts';
import { isolatedEnv, tempDir } from '../src/testing/tmp.ts';

/**
 * The secret canary for the run-record paths: a unique forwarded env value goes through the log tail, the stored
 * run file, JUnit summaries, the summary line, the result object and every history/logs/results output, and must
 * appear in none of them, nor in any file under the state directory.
 */
const tmp = tempDir();
after(() => {
  tmp.remove();
  clearSecrets();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secret canary through run records', () => {
  it('never shows a forwarded secret in any output path or stored file', async () => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const env = isolatedEnv(tmp.path);
    const stateDir = join(tmp.path, 'state', 'crabbox');
    // CI is session context (docs/env.md), sent beside the allowlist and never by it: only the secret is forwarded.
    const forwarded = selectEnv({ MYAPP_SECRET: canary, CI: 'true' }, ['CI', 'MYAPP_*']);
    assert.deepEqual(forwarded.map((p) => p.name), ['MYAPP_SECRET']);

    const recorder = createLocalRunRecorder({ config: { paths: { stateDir, userConfig: '' }, run: { recordCommand: true, logTailBytes: 64 * 1024, junit: [], historyLimit: 50 } }, clock: systemClock });
    const runId = await recorder.start({ leaseId: 'cbx_0123456789ab', slug: 'blue-lobster', provider: 'local', command: ['sh', '-c', `echo ${canary}`] });

    // The command's output, in chunks that split the canary, through the log tail.
    const output = `start\nvalue is ${canary}\nexport MYAPP_SECRET=${canary}\n{"secret":"${canary}"}\nend ${canary}`;
    const tail = new LogTail({ maxBytes: 64 * 1024 });
    for (let i = 0; i < output.length; i += 5) tail.write(Buffer.from(output.slice(i, i + 5)));
    const logTail = tail.finish();
    assert.match(logTail.text, /value is \[redacted\]/);

    // The live stream redactor, for what is shown while the command runs.
    const live = createRedactStream();
    const liveOut: string[] = [];
    live.on('data', (b: Buffer | string) => liveOut.push(b.toString()));
    for (let i = 0; i < output.length; i += 3) live.write(output.slice(i, i + 3));
    live.end();
    await new Promise((resolve) => live.on('end', resolve));
    assert.ok(!liveOut.join('').includes(canary));

    const junit = summarizeJUnit([{ path: `reports/${canary}.xml`, content: `<testsuite name="s ${canary}"><testcase name="leaks ${canary}" classname="${canary}"><failure message="got ${canary}">${canary}</failure></testcase></testsuite>` }, { path: 'bad.xml', content: `<oops ${canary}` }]);
    await recorder.finish(runId, { exitCode: 1, timings: { command: 10, total: 20 }, syncSkipped: false, logTail, junit });

    const outputs: string[] = [formatSummaryLine({ timings: { command: 10, total: 20 }, syncSkipped: false, exitCode: 1 }), JSON.stringify(resultObject({ exitCode: 1, source: 'remote', runId, timings: {}, syncSkipped: false, junit }))];
    for (const file of filesUnder(stateDir)) outputs.push(readFileSync(file, 'utf8'));
    assert.ok(filesUnder(stateDir).length >= 1);
    outputs.push(JSON.stringify(new LocalRunStore({ stateDir, historyLimit: 50 }).get(runId)));

    // The CLI in this process (the secret still registered) and as a fresh process (which never saw it).
    for (const argv of [['history'], ['history', '--json'], ['logs', runId], ['logs', runId, '--json'], ['results', runId], ['results', runId, '--json']]) {
      const r = await runCli(argv, { env, cwd: tmp.path });
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    }
    clearSecrets();
    for (const argv of [['logs', runId], ['results', runId, '--json'], ['history', '--json']]) {
      const r = await runBin(argv, { env, cwd: tmp.path });
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    }
    for (const [i, text] of outputs.entries()) assert.ok(!text.includes(canary), `output ${i} leaks the canary: ${text.slice(0, 300)}`);
    assert.ok(outputs.some((text) => text.includes('[redacted]')), 'the canary was replaced, not silently dropped');
  });
});

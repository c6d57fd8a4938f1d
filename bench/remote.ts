// Figures 2, 3 and 6: warm rerun, cold one-shot and output streaming of `crabbox run` on the `local` provider,
// each next to what plain ssh to the same box costs, measured in the same run.
import { CRABBOX_ARGV, type BenchWorkspace, type WarmLease, sshFresh, sshMaster } from './lib/box.ts';
import { rateFigure, timeFigure, type Section } from './lib/report.ts';
import { interleaved, median, timeOk } from './lib/stats.ts';
import { startStaticHost } from '../src/testing/static-host.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export interface RemoteOptions {
  ws: BenchWorkspace;
  lease: WarmLease;
  repo: string;
  runs: number;
  warmup: number;
  coldRuns: number;
  streamBytes: number;
}

/** Figure 2: `crabbox run --id <warm> -- true` with nothing changed, against ssh over the ControlMaster and a new ssh. */
export async function warmRerunSection(o: RemoteOptions): Promise<Section> {
  await o.ws.runJson(['--id', o.lease.slug, '--', 'true'], o.repo); // first sync of the repo, not timed
  const cli = async (args: string[]): Promise<number> => {
    const r = await o.ws.crabbox(args, o.repo);
    if (r.code !== 0) throw new Error(`crabbox ${args[0]} exited ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  };
  const [crabbox, master, fresh, version, status] = (await interleaved(o.runs, o.warmup, [
    async () => (await o.ws.runJson(['--id', o.lease.slug, '--', 'true'], o.repo)).ms,
    async () => (await timeOk(sshMaster(o.lease, 'true'))).ms,
    async () => (await timeOk(sshFresh(o.lease, 'true'))).ms,
    () => cli(['--version']),
    () => cli(['status', o.lease.slug, '--json']),
  ])) as [number, number, number, number, number];
  const vsMaster = timeFigure({ name: 'crabbox run --id <warm> -- true', value: crabbox, floorName: 'ssh via ControlMaster', floor: master, runs: o.runs });
  // Issue 19 tightened this from issue 7's 150 ms.
  vsMaster.target = { text: 'overhead <= 75 ms over the ControlMaster floor', met: vsMaster.overhead! <= 75 };
  const vsFresh = timeFigure({ name: 'crabbox run --id <warm> -- true', value: crabbox, floorName: 'new ssh connection', floor: fresh, runs: o.runs });
  // Where the overhead goes: finding the lease through the provider, on top of start-up (not a target).
  const lookup = timeFigure({ name: 'crabbox status <warm> (start-up + lease lookup)', value: status, floorName: 'crabbox --version', floor: version, runs: o.runs });
  return { id: 'warm', title: 'Warm rerun, no changes', figures: [vsMaster, vsFresh, lookup, await mcpWarmFigure(o), await staticWarmFigure(o)] };
}

/**
 * The same warm rerun as an agent makes it: the `run` tool of one `crabbox mcp` session (a process that has started
 * and loaded its modules already), timed from the tool call to its result. Not a target.
 */
async function mcpWarmFigure(o: RemoteOptions): Promise<ReturnType<typeof timeFigure>> {
  const transport = new StdioClientTransport({ command: CRABBOX_ARGV[0]!, args: [...CRABBOX_ARGV.slice(1), 'mcp'], env: o.ws.env as Record<string, string>, cwd: o.repo, stderr: 'ignore' });
  const client = new Client({ name: 'crabbox-bench', version: '1.0.0' });
  await client.connect(transport);
  try {
    const [mcp, master] = (await interleaved(o.runs, o.warmup + 2, [
      async () => {
        const started = performance.now();
        const result = await client.callTool({ name: 'run', arguments: { lease: o.lease.slug, command: ['true'] } });
        if (result.isError) throw new Error(`the MCP run tool failed: ${JSON.stringify(result.content).slice(0, 200)}`);
        return performance.now() - started;
      },
      async () => (await timeOk(sshMaster(o.lease, 'true'))).ms,
    ])) as [number, number];
    return timeFigure({ name: 'MCP run tool, warm lease (crabbox mcp session)', value: mcp, floorName: 'ssh via ControlMaster', floor: master, runs: o.runs });
  } finally {
    await client.close();
  }
}

/**
 * The same warm rerun on the `ssh` provider: a static host (a Unix user and its own sshd on 127.0.0.1) leased with
 * `--provider ssh`. Not a target; it shows what the provider costs a warm run (decision 0063: nothing, once touched).
 */
async function staticWarmFigure(o: RemoteOptions): Promise<ReturnType<typeof timeFigure>> {
  const host = await startStaticHost();
  try {
    o.ws.configure({ static: { hosts: [host.entry(host.ports[0]!)] } });
    const lease = await o.ws.warmup(o.repo, ['--provider', 'ssh']);
    try {
      await o.ws.runJson(['--id', lease.slug, '--', 'true'], o.repo); // first sync, not timed
      const [crabbox, master] = (await interleaved(o.runs, o.warmup, [
        async () => (await o.ws.runJson(['--id', lease.slug, '--', 'true'], o.repo)).ms,
        async () => (await timeOk(sshMaster(lease, 'true'))).ms,
      ])) as [number, number];
      return timeFigure({ name: 'crabbox run --id <warm ssh-provider host> -- true', value: crabbox, floorName: 'ssh via ControlMaster', floor: master, runs: o.runs });
    } finally {
      await o.ws.crabbox(['stop', lease.id], o.repo);
    }
  } finally {
    o.ws.configure({});
    await host.stop();
  }
}

/** Figure 3: `crabbox run -- true` from no lease to released, with the phases of its --json result. */
export async function coldSection(o: RemoteOptions & { warmFloorMs?: number | undefined }): Promise<Section> {
  const walls: number[] = [];
  const phases: Record<'prepare' | 'lease' | 'sync' | 'command' | 'release', number[]> = { prepare: [], lease: [], sync: [], command: [], release: [] };
  for (let i = 0; i < o.coldRuns + o.warmup; i++) {
    const { ms, result } = await o.ws.runJson(['--', 'true'], o.repo);
    if (!result.lease?.fresh || !result.lease.released) throw new Error(`cold run did not lease and release a fresh box: ${JSON.stringify(result.lease)}`);
    if (i < o.warmup) continue;
    walls.push(ms);
    for (const key of Object.keys(phases) as (keyof typeof phases)[]) phases[key].push(result.timingsMs[key] ?? Number.NaN);
  }
  const figures = [
    timeFigure({ name: 'crabbox run -- true (lease..released)', value: median(walls), floorName: o.warmFloorMs === undefined ? undefined : 'warm rerun', floor: o.warmFloorMs, runs: o.coldRuns, note: 'the floor here is the warm rerun of figure 2: the ratio is what leasing and releasing a box costs on top' }),
    ...(Object.entries(phases) as [string, number[]][]).map(([phase, values]) => timeFigure({ name: `  phase: ${phase}`, value: median(values), runs: o.coldRuns })),
  ];
  return { id: 'cold', title: 'Cold one-shot', figures };
}

/** Figure 6: `crabbox run -- cat <file>` against `ssh host cat <file>` over the ControlMaster, bytes counted. */
export async function streamingSection(o: RemoteOptions): Promise<Section> {
  const home = (await timeOk(sshMaster(o.lease, 'pwd'))).stdout.trim();
  const file = `${home}/bench-stream.bin`;
  await timeOk(sshMaster(o.lease, `head -c ${o.streamBytes} /dev/urandom | base64 | head -c ${o.streamBytes} > bench-stream.bin`));
  const check = (bytes: number): void => {
    if (bytes !== o.streamBytes) throw new Error(`streamed ${bytes} bytes, expected ${o.streamBytes}`);
  };
  const [crabbox, ssh] = (await interleaved(o.runs, o.warmup, [async () => {
    const r = await o.ws.crabbox(['run', '--id', o.lease.slug, '--', 'cat', file], o.repo, 0);
    if (r.code !== 0) throw new Error(`crabbox run cat exited ${r.code}: ${r.stderr.trim()}`);
    check(r.stdoutBytes);
    return r.ms;
  }, async () => {
    const r = await timeOk(sshMaster(o.lease, `cat ${file}`), { keep: 0 });
    check(r.stdoutBytes);
    return r.ms;
  }])) as [number, number];
  await timeOk(sshMaster(o.lease, 'rm -f bench-stream.bin'));
  const mb = o.streamBytes / 1e6;
  const rate = (ms: number): number => mb / (ms / 1000);
  const figure = rateFigure({ name: `crabbox run -- cat (${formatSize(o.streamBytes)})`, unit: 'MB/s', value: rate(crabbox), floorName: 'ssh cat', floor: rate(ssh), runs: o.runs, note: `wall ${crabbox.toFixed(0)} ms vs ${ssh.toFixed(0)} ms` });
  figure.target = { text: 'throughput within 1.2x of plain ssh', met: figure.ratio! <= 1.2 };
  return { id: 'streaming', title: 'Output streaming', figures: [figure] };
}

export function formatSize(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(0)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}

// Figure 1, CLI start-up: `bin/crabbox --version` against `node -e 0` (the floor: the runtime itself), medians after warm-up.
// Standalone: scripts/node bench/startup.ts [runs]. Target: within 2x of the floor.
import { fileURLToPath } from 'node:url';
import { CRABBOX_BIN } from './lib/box.ts';
import { timeFigure, type Section } from './lib/report.ts';
import { interleaved, timeOk } from './lib/stats.ts';

/** Measures start-up; `runs` timed runs after `warmup` untimed ones. */
export async function startupSection(options: { runs: number; warmup: number }): Promise<Section> {
  const time = (args: string[]) => async () => (await timeOk([process.execPath, ...args])).ms;
  const [node, crabbox] = await interleaved(options.runs, options.warmup, [time(['-e', '0']), time([CRABBOX_BIN, '--version'])]);
  const figure = timeFigure({ name: 'crabbox --version', value: crabbox!, floorName: 'node -e 0', floor: node!, runs: options.runs });
  figure.target = { text: 'within 2x of node -e 0', met: figure.ratio! <= 2 };
  return { id: 'startup', title: 'CLI start-up', figures: [figure] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 20);
  const { figures } = await startupSection({ runs, warmup: 3 });
  const f = figures[0]!;
  console.log(`node -e 0:           ${f.floor!.toFixed(1)} ms (median of ${runs})`);
  console.log(`crabbox --version:   ${f.value.toFixed(1)} ms (median of ${runs})`);
  console.log(`ratio:               ${f.ratio!.toFixed(2)}x (target <= 2x) ${f.target!.met ? 'ok' : 'SLOW'}`);
}

// The shape of bench/results.json and the table printed from it.

/** One figure: a measured value, the floor measured in the same run, and their ratio (value / floor). */
export interface Figure {
  name: string;
  unit: 'ms' | 'MB/s' | 'req/s' | 'cycles/s' | 'MiB';
  value: number;
  floorName?: string | undefined;
  floor?: number | undefined;
  /** value / floor for times and memory; floor / value for throughputs, so >1 always means "slower than the floor". */
  ratio?: number | undefined;
  /** value - floor, for times. */
  overhead?: number | undefined;
  runs: number;
  target?: { text: string; met: boolean } | undefined;
  note?: string | undefined;
}

export interface Section {
  id: string;
  title: string;
  figures: Figure[];
  /** Set when the section could not run: "not available: <reason>". Never replaced by made-up numbers. */
  unavailable?: string | undefined;
  /** Conditions the figures were taken under (e.g. the store's fsync setting), printed under the section title. */
  notes?: string[] | undefined;
}

export interface Results {
  version: 1;
  date: string;
  quick: boolean;
  /** loadAverage: the 1-minute load average when the run started and ended (other work on the machine skews timings). */
  machine: { cpus: number; platform: string; node: string; loadAverage?: [number, number] | undefined };
  sections: Section[];
  /** Lease ids the run made on the local provider (all released by the end). */
  leases: string[];
  /** Where the local boxes lived (removed by the end). */
  boxesRoot?: string | undefined;
  /** The workspace's crabbox state dir: keys and local machine dirs (removed by the end). */
  stateDir?: string | undefined;
}

/** A time figure against its floor: ratio and overhead filled in. */
export function timeFigure(input: Omit<Figure, 'unit' | 'ratio' | 'overhead'> & { unit?: Figure['unit'] }): Figure {
  const f: Figure = { unit: 'ms', ...input };
  if (f.floor !== undefined && f.floor > 0) {
    f.ratio = f.value / f.floor;
    f.overhead = f.value - f.floor;
  }
  return f;
}

/** A throughput figure against its floor: ratio = floor / value (>1 means slower than the floor). */
export function rateFigure(input: Omit<Figure, 'ratio' | 'overhead'>): Figure {
  const f: Figure = { ...input };
  if (f.floor !== undefined && f.value > 0) f.ratio = f.floor / f.value;
  return f;
}

function num(value: number | undefined, unit?: string): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  const text = Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** The human table: one block per section, one line per figure. */
export function renderResults(results: Results): string {
  const lines: string[] = [`crabbox bench (${results.quick ? 'quick' : 'full'}) ${results.date} · ${results.machine.cpus} cpus · node ${results.machine.node}${results.machine.loadAverage ? ` · load ${results.machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ')}` : ''}`];
  for (const section of results.sections) {
    lines.push('', `${section.id}. ${section.title}`);
    if (section.unavailable) {
      lines.push(`   ${section.unavailable}`);
      continue;
    }
    for (const note of section.notes ?? []) lines.push(`   ${note}`);
    const rows = section.figures.map((f) => [
      f.name,
      num(f.value, f.unit),
      f.floorName ? `${f.floorName} ${num(f.floor, f.unit)}` : '',
      f.ratio === undefined ? '' : `${num(f.ratio)}x`,
      f.overhead === undefined ? '' : `${f.overhead >= 0 ? '+' : ''}${num(f.overhead, f.unit)}`,
      f.target ? `${f.target.met ? 'ok' : 'MISSED'} (${f.target.text})` : '',
      `n=${f.runs}`,
    ]);
    const widths = rows.reduce((w, r) => r.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [] as number[]);
    for (const r of rows) lines.push(`   ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}`);
    for (const f of section.figures) if (f.note) lines.push(`   note: ${f.name}: ${f.note}`);
  }
  return lines.join('\n');
}

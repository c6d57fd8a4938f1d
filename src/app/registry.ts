import { cleanup } from './cleanup.ts';
import { doctor } from './doctor.ts';
import { events } from './events.ts';
import { heartbeat } from './heartbeat.ts';
import { history } from './history.ts';
import { list } from './list.ts';
import { logs } from './logs.ts';
import { pool } from './pool.ts';
import { results } from './results.ts';
import { run } from './run.ts';
import { status } from './status.ts';
import { stop } from './stop.ts';
import { syncPlan } from './sync-plan.ts';
import { usage } from './usage.ts';
import type { UseCase } from './usecase.ts';
import { warmup } from './warmup.ts';

/** Every use case with a schema'd input and output, by name (the CLI command of the same name adapts it). */
export const USE_CASES = { run, warmup, list, status, heartbeat, stop, history, logs, results, usage, events, pool, cleanup, 'sync-plan': syncPlan, doctor } as const satisfies Record<string, UseCase>;

/**
 * The use cases the MCP server offers an agent: the loop of one task (warmup, run, results/logs, stop) and what it
 * needs to look around. Not offered: anything that reads arbitrary local files, and team or admin operations.
 */
export const MCP_TOOLS = [run, warmup, status, list, stop, logs, results, history] as const;

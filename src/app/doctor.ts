import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import type { DoctorJson } from '../api/shapes-setup.ts';
import { loadConfig } from '../config/load.ts';
import { runChecks, type Check } from '../doctor/checks.ts';
import { coordinatorChecks } from '../doctor/coordinator.ts';
import { accessCredentials } from './access.ts';
import { coordinatorHostChecks } from '../doctor/coordinator-host.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { useCase } from './usecase.ts';

/** The exit code for a set of findings: tools first, then config, then the coordinator. */
export function doctorExitCode(report: Pick<DoctorJson, 'checks'>): number {
  const failed = report.checks.filter((c) => !c.ok);
  if (failed.length === 0) return ExitCode.ok;
  if (failed.some((c) => c.kind === 'tool' || c.kind === 'runtime')) return ExitCode.osError;
  if (failed.some((c) => c.kind === 'config')) return ExitCode.config;
  return ExitCode.unavailable;
}

export const doctor = useCase({
  name: 'doctor',
  description: 'Check local prerequisites (ssh, sshd, rsync, git, Node), config file modes and the coordinator (reachable, auth, clock skew). Each failed check says how to fix it.',
  input: z.strictObject({}),
  output: () => import('../api/shapes-setup.ts').then((m) => m.doctorJson),
  annotations: { title: 'Check prerequisites', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx) {
    const checks: Check[] = [...runChecks({ env: ctx.env, cwd: ctx.cwd }), ...coordinatorHostChecks(ctx.env)];
    let config;
    try {
      config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
    } catch {
      config = undefined; // already reported by the config check
    }
    if (config) checks.push(...(await coordinatorChecks({ config, clock: ctx.clock, access: accessCredentials(ctx.env) })));
    return { schema: schemaId('doctor'), ok: checks.every((c) => c.ok), checks };
  },
});

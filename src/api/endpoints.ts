import * as z from 'zod';
import {
  certificateAnswer, createLeaseAnswer, drainAnswer, poolDrainAnswer, eventListAnswer, leaseListAnswer, loginPollAnswer, loginStartAnswer, machineDrainAnswer, machineListAnswer, oneLeaseAnswer, oneMachineAnswer, oneRunAnswer, runListAnswer,
  runLogsAnswer, usageAnswer, whoamiAnswer, poolListAnswer,
} from './answers.ts';
import {
  adminListEventsQuery, adminListLeasesQuery, adminListMachinesQuery, adminUsageQuery, certificateBody, createLeaseBody, createRunBody, drainBody, finishRunBody, heartbeatBody, leaseRefParams, listEventsQuery, listLeasesQuery,
  listRunsQuery, loginPollBody, loginStartBody, machineParams, poolParams, poolQuery, runParams, usageQuery,
} from './schemas.ts';

/**
 * The coordinator's HTTP contract, defined once: method, path, the zod schemas of path parameters, query and body,
 * and of the answer. The coordinator's routes are registered from these entries (src/coordinator/serve-endpoint.ts:
 * the same schemas validate the request, and the handler's return type must fit the answer), and the CLI's client
 * calls them by name (`client.call('heartbeat', { params: { ref }, body })`): it builds no path by hand, and parses
 * every answer with the same schema. docs/api.md describes them.
 */
export interface Endpoint {
  method: 'GET' | 'POST' | 'DELETE';
  /** With `:name` path parameters. */
  path: `/v1/${string}`;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** A request with no body (no Content-Type) reads as `{}`: a bare POST is allowed. */
  bodyOptional?: boolean;
  answer: z.ZodType;
  /** The success status when it is not 200 (a function of the answer when it depends on it). */
  status?: 200 | 201 | ((answer: never) => 200 | 201);
}

export const ENDPOINTS = {
  health: { method: 'GET', path: '/v1/health', answer: z.object({ ok: z.boolean() }) },
  whoami: { method: 'GET', path: '/v1/whoami', answer: whoamiAnswer },
  loginStart: { method: 'POST', path: '/v1/login/start', body: loginStartBody, answer: loginStartAnswer, status: 201 },
  loginPoll: { method: 'POST', path: '/v1/login/poll', body: loginPollBody, answer: loginPollAnswer },

  createLease: { method: 'POST', path: '/v1/leases', body: createLeaseBody, answer: createLeaseAnswer, status: (a: { created: boolean }) => (a.created ? 201 : 200) },
  listLeases: { method: 'GET', path: '/v1/leases', query: listLeasesQuery, answer: leaseListAnswer },
  getLease: { method: 'GET', path: '/v1/leases/:ref', params: leaseRefParams, answer: oneLeaseAnswer },
  heartbeat: { method: 'POST', path: '/v1/leases/:ref/heartbeat', params: leaseRefParams, body: heartbeatBody, bodyOptional: true, answer: oneLeaseAnswer },
  releaseLease: { method: 'POST', path: '/v1/leases/:ref/release', params: leaseRefParams, answer: oneLeaseAnswer },
  leaseCertificate: { method: 'POST', path: '/v1/leases/:ref/certificate', params: leaseRefParams, body: certificateBody, answer: certificateAnswer },

  createRun: { method: 'POST', path: '/v1/runs', body: createRunBody, answer: oneRunAnswer, status: 201 },
  listRuns: { method: 'GET', path: '/v1/runs', query: listRunsQuery, answer: runListAnswer },
  getRun: { method: 'GET', path: '/v1/runs/:id', params: runParams, answer: oneRunAnswer },
  runLogs: { method: 'GET', path: '/v1/runs/:id/logs', params: runParams, answer: runLogsAnswer },
  finishRun: { method: 'POST', path: '/v1/runs/:id/finish', params: runParams, body: finishRunBody, answer: oneRunAnswer },

  usage: { method: 'GET', path: '/v1/usage', query: usageQuery, answer: usageAnswer },
  events: { method: 'GET', path: '/v1/events', query: listEventsQuery, answer: eventListAnswer },
  pool: { method: 'GET', path: '/v1/pool', query: poolQuery, answer: poolListAnswer },

  adminLeases: { method: 'GET', path: '/v1/admin/leases', query: adminListLeasesQuery, answer: leaseListAnswer },
  adminRelease: { method: 'POST', path: '/v1/admin/leases/:ref/release', params: leaseRefParams, answer: oneLeaseAnswer },
  adminDelete: { method: 'DELETE', path: '/v1/admin/leases/:ref', params: leaseRefParams, answer: oneLeaseAnswer },
  adminDrain: { method: 'POST', path: '/v1/admin/drain', body: drainBody, answer: drainAnswer },
  adminMachines: { method: 'GET', path: '/v1/admin/machines', query: adminListMachinesQuery, answer: machineListAnswer },
  adminMachine: { method: 'GET', path: '/v1/admin/machines/:id', params: machineParams, answer: oneMachineAnswer },
  adminMachineDrain: { method: 'POST', path: '/v1/admin/machines/:id/drain', params: machineParams, answer: machineDrainAnswer },
  adminMachineUndrain: { method: 'POST', path: '/v1/admin/machines/:id/undrain', params: machineParams, answer: machineDrainAnswer },
  adminPoolDrain: { method: 'POST', path: '/v1/admin/pools/:name/drain', params: poolParams, answer: poolDrainAnswer },
  adminPoolUndrain: { method: 'POST', path: '/v1/admin/pools/:name/undrain', params: poolParams, answer: poolDrainAnswer },
  adminUsage: { method: 'GET', path: '/v1/admin/usage', query: adminUsageQuery, answer: usageAnswer },
  adminEvents: { method: 'GET', path: '/v1/admin/events', query: adminListEventsQuery, answer: eventListAnswer },
} as const satisfies Record<string, Endpoint>;

export type Endpoints = typeof ENDPOINTS;
export type EndpointName = keyof Endpoints;

type Field<E, K extends string> = E extends { [P in K]: infer S extends z.ZodType } ? z.input<S> : never;

/** What a caller passes: the path parameters, query and body its endpoint declares (the body optional when it may be bare). */
export type CallInput<E> =
  & (E extends { params: z.ZodType } ? { params: Field<E, 'params'> } : { params?: never })
  & (E extends { query: z.ZodType } ? { query?: Field<E, 'query'> } : { query?: never })
  & (E extends { body: z.ZodType } ? (E extends { bodyOptional: true } ? { body?: Field<E, 'body'> } : { body: Field<E, 'body'> }) : { body?: never });

/** What an endpoint answers, as its schema parses it. */
export type Answer<E> = E extends { answer: infer S extends z.ZodType } ? z.output<S> : never;
/** What a route handler must return for an endpoint (before the answer schema's defaults and transforms). */
export type AnswerInput<E> = E extends { answer: infer S extends z.ZodType } ? z.input<S> : never;

/** The request path of an endpoint: each `:name` replaced by its encoded parameter, then the defined query values. */
export function pathOf(endpoint: Endpoint, input: { params?: Record<string, unknown> | undefined; query?: Record<string, unknown> | undefined } = {}): string {
  const path = endpoint.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    const value = input.params?.[name];
    if (typeof value !== 'string' || value === '') throw new Error(`${endpoint.path}: missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(input.query ?? {})) if (value !== undefined && value !== null) q.set(key, String(value));
  return q.size ? `${path}?${q}` : path;
}

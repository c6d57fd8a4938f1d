import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../../domain/clock.ts';
import { Chaos, TokenBucket, type ChaosOptions } from '../../fake/chaos.ts';
import { parseQuery, type QueryParams } from './query.ts';
import { errorResponse, response } from './xml.ts';
import { Ec2Fault, newAccount, type FakeAccount } from './model.ts';
import { createTags, deleteTags, describeInstances, runInstances, terminateInstances, type ActionContext } from './instance-actions.ts';
import {
  authorizeIngress,
  createSecurityGroup,
  deleteKeyPair,
  describeImages,
  describeKeyPairs,
  describeSecurityGroups,
  describeSpotPriceHistory,
  describeSubnets,
  importKeyPair,
  revokeIngress,
} from './account-actions.ts';

/** A scripted failure: the next `times` matching calls of `action` answer with this EC2 error. */
export interface FakeFault {
  action: string;
  code: string;
  /** HTTP status; defaults to 500 for server-side codes and 400 otherwise. */
  status?: number;
  message?: string;
  /** How many matching calls fail (default 1; Infinity for "always"). */
  times?: number;
  match?: (params: QueryParams) => boolean;
  /** Apply the action, then fail anyway: a response lost on the way back. */
  afterApply?: boolean;
}

/** How long new resources stay invisible to other calls (EC2's eventual consistency), in ms. */
export interface Propagation {
  instance: number;
  keyPair: number;
  group: number;
}

/** Realistic defaults: every new resource is invisible for a second, as EC2 documents it may be. */
export const DEFAULT_PROPAGATION: Propagation = { instance: 1000, keyPair: 1000, group: 1000 };

/**
 * EC2 meters API calls per account with token buckets (Describe* apart from mutating calls) and answers
 * RequestLimitExceeded when one is empty. The defaults are roomy; tests shrink them to make the budget run out.
 */
export interface RequestBudget {
  describe: { size: number; perSecond: number };
  mutate: { size: number; perSecond: number };
}

export const DEFAULT_BUDGET: RequestBudget = { describe: { size: 100, perSecond: 20 }, mutate: { size: 50, perSecond: 5 } };

export interface FakeEc2Options {
  /** DescribeInstances page size (small values exercise NextToken). */
  pageSize?: number;
  /** DescribeInstances observations before a new instance gets its public IP (Infinity: never). */
  ipAfterDescribes?: number;
  /** The fake's time (share the provider's ManualClock in tests). */
  clock?: Clock;
  propagation?: Partial<Propagation>;
  budget?: Partial<RequestBudget>;
  /** Seeded random faults on top of the realistic behaviour (see fake/chaos.ts). */
  chaos?: ChaosOptions | undefined;
}

const SERVER_CODES = new Set(['InternalError', 'Unavailable', 'InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity', 'RequestLimitExceeded']);
/** Actions that change something: a lost response after applying them is the interesting fault. */
const MUTATING = new Set(['RunInstances', 'TerminateInstances', 'CreateTags', 'DeleteTags', 'ImportKeyPair', 'DeleteKeyPair', 'CreateSecurityGroup', 'AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress']);

type Handler = (ctx: ActionContext) => string[];

/**
 * A local EC2 endpoint speaking the Query protocol the AWS SDK sends (form-encoded, SigV4-signed; the signature
 * is not checked but an Authorization header is required) and answering with EC2's XML shapes and error document.
 */
export class FakeEc2 {
  readonly account: FakeAccount = newAccount();
  /** Every request, in order: the action and its decoded params. */
  readonly requests: { action: string; params: QueryParams; accessKeyId: string; at: number; answer?: { status: number; code: string | undefined } }[] = [];
  /** Every answer, in order, with its raw XML (the conformance test checks them against the EC2 model). */
  readonly responses: { action: string; status: number; body: string }[] = [];
  readonly clock: Clock;
  readonly chaos: Chaos | undefined;
  propagation: Propagation;
  pageSize: number;
  ipAfterDescribes: number;
  #buckets: { describe: TokenBucket; mutate: TokenBucket };
  #faults: FakeFault[] = [];
  #server: Server | undefined;
  #url = '';
  #ipCounter = 10;
  readonly #handlers: Record<string, Handler>;

  constructor(options: FakeEc2Options = {}) {
    this.pageSize = options.pageSize ?? 1000;
    this.ipAfterDescribes = options.ipAfterDescribes ?? 1;
    this.clock = options.clock ?? systemClock;
    this.propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
    const budget = { ...DEFAULT_BUDGET, ...options.budget };
    const now = this.clock.now();
    this.#buckets = { describe: new TokenBucket(budget.describe.size, budget.describe.perSecond, now), mutate: new TokenBucket(budget.mutate.size, budget.mutate.perSecond, now) };
    this.chaos = options.chaos ? new Chaos(options.chaos) : undefined;
    // Under chaos some accounts have never launched Spot and these credentials may not create the role.
    if (this.chaos && this.chaos.roll() < 0.3) {
      this.account.spotRole = 'not-permitted';
      this.chaos.note('account: no Spot service-linked role');
    }
    const publicIp = (): string => `198.51.100.${this.#ipCounter++ % 250}`;
    this.#handlers = {
      RunInstances: runInstances,
      DescribeInstances: (ctx) => describeInstances(ctx, publicIp),
      TerminateInstances: terminateInstances,
      CreateTags: createTags,
      DeleteTags: deleteTags,
      ImportKeyPair: importKeyPair,
      DescribeKeyPairs: describeKeyPairs,
      DeleteKeyPair: deleteKeyPair,
      CreateSecurityGroup: createSecurityGroup,
      DescribeSecurityGroups: describeSecurityGroups,
      AuthorizeSecurityGroupIngress: authorizeIngress,
      RevokeSecurityGroupIngress: revokeIngress,
      DescribeImages: describeImages,
      DescribeSpotPriceHistory: describeSpotPriceHistory,
      DescribeSubnets: describeSubnets,
    };
  }

  get url(): string {
    return this.#url;
  }

  /** Schedules a failure. */
  fail(fault: FakeFault): this {
    this.#faults.push({ times: 1, ...fault });
    return this;
  }

  /** Makes RunInstances for a type (optionally only one market) fail with a capacity error until cleared. */
  noCapacity(type: string, market?: 'spot' | 'on-demand', code = 'InsufficientInstanceCapacity'): this {
    return this.fail({
      action: 'RunInstances',
      code,
      times: Infinity,
      message: `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (us-east-1a).`,
      match: (p) => p.InstanceType === type && (market === undefined || (market === 'spot') === (JSON.stringify(p.InstanceMarketOptions ?? {}).includes('"spot"'))),
    });
  }

  /** Makes EC2 answer `Unsupported` for a type (optionally one market), as for a type not offered in the zone. */
  unsupported(type: string, market?: 'spot' | 'on-demand'): this {
    this.account.unsupported.push({ type, market });
    return this;
  }

  /** The account has no Spot service-linked role and the caller may not create it. */
  withoutSpotRole(): this {
    this.account.spotRole = 'not-permitted';
    return this;
  }

  /** Replaces the request budget (token buckets), e.g. to make it run out. */
  setBudget(budget: Partial<RequestBudget>): this {
    const b = { ...DEFAULT_BUDGET, ...budget };
    const now = this.clock.now();
    this.#buckets = { describe: new TokenBucket(b.describe.size, b.describe.perSecond, now), mutate: new TokenBucket(b.mutate.size, b.mutate.perSecond, now) };
    return this;
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Requests of one action, in order. */
  calls(action: string): QueryParams[] {
    return this.requests.filter((r) => r.action === action).map((r) => r.params);
  }

  /**
   * Requests of one action that EC2 judged on their merits: without those answered "not found" only because a
   * resource made moments before was not visible yet (the realistic default; the provider waits those out).
   */
  judged(action: string): QueryParams[] {
    const notYet = new Set(['InvalidKeyPair.NotFound', 'InvalidGroup.NotFound', 'InvalidInstanceID.NotFound']);
    return this.requests.filter((r) => r.action === action && !notYet.has(r.answer?.code ?? '')).map((r) => r.params);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #newId(prefix: string, hexDigits = 17): string {
    return prefix + randomBytes(Math.ceil(hexDigits / 2)).toString('hex').slice(0, hexDigits);
  }

  /** The next scripted fault for this request. A lost-response fault is only used up once the action really applied. */
  #findFault(action: string, params: QueryParams): FakeFault | undefined {
    return this.#faults.find((f) => f.action === action && (f.times ?? 1) > 0 && (!f.match || f.match(params)));
  }

  #useFault(fault: FakeFault): void {
    fault.times = (fault.times ?? 1) - 1;
  }

  /** A chaos fault for this request, if the seed says so: a transient error before or after applying it, or throttling. */
  #chaosFault(action: string): FakeFault | undefined {
    const chaos = this.chaos;
    if (!chaos || !chaos.strike(action)) return undefined;
    const options: FakeFault[] = [
      { action, code: 'InternalError', message: 'An internal error has occurred' },
      { action, code: 'Unavailable', message: 'The service is unavailable. Please try again shortly.' },
      { action, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
      ...(MUTATING.has(action) ? [{ action, code: 'InternalError', message: 'An internal error has occurred', afterApply: true }] : []),
      ...(action === 'RunInstances' ? [{ action, code: 'InsufficientInstanceCapacity', message: 'We currently do not have sufficient capacity in the Availability Zone you requested (us-east-1a).' }] : []),
    ];
    const fault = chaos.pick(options);
    chaos.note(`${action}: ${fault.code}${fault.afterApply ? ' (after applying)' : ''}`);
    return fault;
  }

  #propagationMs(kind: keyof Propagation): number {
    return this.chaos ? this.chaos.int(0, 8000) : this.propagation[kind];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action = '';
    let entry: (typeof this.requests)[number] | undefined;
    const send = (status: number, body: string): void => {
      this.responses.push({ action, status, body });
      if (entry) entry.answer = { status, code: status >= 400 ? /<Code>([^<]*)<\/Code>/.exec(body)?.[1] : undefined };
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      res.end(body);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return send(400, errorResponse('InvalidAction', 'The fake EC2 endpoint only accepts form-encoded POST requests', requestId));
    }
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return send(401, errorResponse('AuthFailure', 'AWS was not able to validate the provided access credentials', requestId));
    }
    const parsed = parseQuery(body);
    action = parsed.action;
    const { version, params } = parsed;
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? '';
    entry = { action, params, accessKeyId, at: this.clock.now() };
    this.requests.push(entry);
    if (version !== '2016-11-15') return send(400, errorResponse('InvalidParameterValue', `Unsupported Version ${version}`, requestId));
    const handler = this.#handlers[action];
    if (!handler) return send(400, errorResponse('InvalidAction', `The action ${action} is not valid for this web service.`, requestId));
    const now = this.clock.now();
    const bucket = action.startsWith('Describe') ? this.#buckets.describe : this.#buckets.mutate;
    if (!bucket.take(now)) return send(503, errorResponse('RequestLimitExceeded', 'Request limit exceeded.', requestId));
    const scripted = this.#findFault(action, params);
    const fault = scripted ?? this.#chaosFault(action);
    const status = (f: FakeFault): number => f.status ?? (SERVER_CODES.has(f.code) ? (f.code === 'RequestLimitExceeded' || f.code === 'Unavailable' ? 503 : 500) : 400);
    if (scripted && !scripted.afterApply) this.#useFault(scripted);
    if (fault && !fault.afterApply) return send(status(fault), errorResponse(fault.code, fault.message ?? `injected ${fault.code}`, requestId));
    try {
      const children = handler({
        account: this.account,
        params,
        newId: (p, n) => this.#newId(p, n),
        ipAfterDescribes: this.ipAfterDescribes,
        pageSize: this.pageSize,
        now,
        propagationMs: (kind) => this.#propagationMs(kind),
      });
      if (fault) {
        if (scripted) this.#useFault(scripted);
        return send(status(fault), errorResponse(fault.code, fault.message ?? `injected ${fault.code}`, requestId));
      }
      send(200, response(action, requestId, children));
    } catch (error) {
      if (error instanceof Ec2Fault) return send(error.status, errorResponse(error.code, error.message, requestId));
      send(500, errorResponse('InternalError', 'An internal error has occurred', requestId));
    }
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
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

export interface FakeEc2Options {
  /** DescribeInstances page size (small values exercise NextToken). */
  pageSize?: number;
  /** DescribeInstances observations before a new instance gets its public IP (Infinity: never). */
  ipAfterDescribes?: number;
}

const SERVER_CODES = new Set(['InternalError', 'Unavailable', 'InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity', 'RequestLimitExceeded']);

type Handler = (ctx: ActionContext) => string[];

/**
 * A local EC2 endpoint speaking the Query protocol the AWS SDK sends (form-encoded, SigV4-signed; the signature
 * is not checked but an Authorization header is required) and answering with EC2's XML shapes and error document.
 */
export class FakeEc2 {
  readonly account: FakeAccount = newAccount();
  /** Every request, in order: the action and its decoded params. */
  readonly requests: { action: string; params: QueryParams; accessKeyId: string }[] = [];
  pageSize: number;
  ipAfterDescribes: number;
  #faults: FakeFault[] = [];
  #server: Server | undefined;
  #url = '';
  #ipCounter = 10;
  readonly #handlers: Record<string, Handler>;

  constructor(options: FakeEc2Options = {}) {
    this.pageSize = options.pageSize ?? 1000;
    this.ipAfterDescribes = options.ipAfterDescribes ?? 1;
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

  clearFaults(): void {
    this.#faults = [];
  }

  /** Requests of one action, in order. */
  calls(action: string): QueryParams[] {
    return this.requests.filter((r) => r.action === action).map((r) => r.params);
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

  #takeFault(action: string, params: QueryParams): FakeFault | undefined {
    const fault = this.#faults.find((f) => f.action === action && (f.times ?? 1) > 0 && (!f.match || f.match(params)));
    if (fault) fault.times = (fault.times ?? 1) - 1;
    return fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const send = (status: number, body: string): void => {
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
    const { action, version, params } = parseQuery(body);
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? '';
    this.requests.push({ action, params, accessKeyId });
    if (version !== '2016-11-15') return send(400, errorResponse('InvalidParameterValue', `Unsupported Version ${version}`, requestId));
    const handler = this.#handlers[action];
    if (!handler) return send(400, errorResponse('InvalidAction', `The action ${action} is not valid for this web service.`, requestId));
    const fault = this.#takeFault(action, params);
    const status = (f: FakeFault): number => f.status ?? (SERVER_CODES.has(f.code) ? (f.code === 'RequestLimitExceeded' || f.code === 'Unavailable' ? 503 : 500) : 400);
    if (fault && !fault.afterApply) return send(status(fault), errorResponse(fault.code, fault.message ?? `injected ${fault.code}`, requestId));
    try {
      const children = handler({ account: this.account, params, newId: (p, n) => this.#newId(p, n), ipAfterDescribes: this.ipAfterDescribes, pageSize: this.pageSize });
      if (fault) return send(status(fault), errorResponse(fault.code, fault.message ?? `injected ${fault.code}`, requestId));
      send(200, response(action, requestId, children));
    } catch (error) {
      if (error instanceof Ec2Fault) return send(error.status, errorResponse(error.code, error.message, requestId));
      send(500, errorResponse('InternalError', 'An internal error has occurred', requestId));
    }
  }
}

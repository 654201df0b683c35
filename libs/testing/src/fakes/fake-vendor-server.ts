import { Decimal } from 'decimal.js';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * What a fake vendor can be told to do to its next ingest calls (each fault applies to `times`
 * calls, default 1, then is spent; faults queue in order):
 * - `status`: answer that status (5xx, 429 with `retryAfter` seconds, 4xx), keeping nothing;
 * - `timeout`: never answer (the socket stays open until the client gives up or the fake stops);
 * - `slow`: answer normally after `delayMs`;
 * - `drop`: answer 2xx as if accepted, keep nothing (a vendor that loses accepted events).
 */
export type FakeFault =
  | { kind: 'status'; status: number; retryAfter?: string; message?: string; times?: number }
  | { kind: 'timeout'; times?: number }
  | { kind: 'slow'; delayMs: number; times?: number }
  | { kind: 'drop'; times?: number }
  /** Refuse (400, validation) every ingest call that carries one of these event ids, until cleared: a malformed event. */
  | { kind: 'reject'; eventIds: string[] };

export type FakeEnvironment = 'live' | 'test';

/** An event the fake kept (after dedup), in vendor-neutral terms. */
export interface KeptEvent {
  environment: FakeEnvironment;
  /** The vendor customer id it resolved to (null: no such customer; kept as sent). */
  customerId: string | null;
  /** What the event named the customer by. */
  customerRef: string;
  metric: string;
  id: string;
  timestamp: Date;
  properties: Record<string, unknown>;
  receivedAt: Date;
}

export interface FakeTotal {
  customer: string;
  metric: string;
  /** Start of the period (UTC day or month, or the query's `from` for `none`). */
  period: string;
  events: number;
  quantity: string;
  amountMicros: number;
}

export interface TotalsQuery {
  environment?: FakeEnvironment;
  /** The customer's alias / external id, or its vendor id. */
  customer?: string;
  from?: Date;
  to?: Date;
  bucket?: 'none' | 'day' | 'month';
}

export interface FakeCall {
  route: string;
  status: number;
  /** Events in the request body (ingest routes). */
  events: number;
  environment: FakeEnvironment | null;
}

export interface FakeVendorOptions {
  port?: number;
  host?: string;
  /** Largest accepted body. */
  bodyLimitBytes?: number;
  /** The fake's clock (timestamp windows, dedup windows). */
  now?: () => Date;
}

export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The part both fakes share: a plain node:http server, body limit, fault injection on ingest
 * routes, the admin endpoints (`/_fake/...`), the kept events and their totals.
 * Admin endpoints: `POST /_fake/faults` (a fault or `{faults: [...]}`), `DELETE /_fake/faults`,
 * `GET /_fake/totals?environment=&customer=&from=&to=&bucket=`, `GET /_fake/calls`,
 * `POST /_fake/reset`.
 */
export abstract class FakeVendorServer {
  readonly kept: KeptEvent[] = [];
  readonly calls: FakeCall[] = [];
  /** How many accepted (2xx) ingest calls carried each event id, duplicates included: "sent twice" is a count above 1. */
  readonly received = new Map<string, number>();
  private faults: (Exclude<FakeFault, { kind: 'reject' }> & { left: number })[] = [];
  private readonly rejected = new Set<string>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  protected readonly now: () => Date;
  protected readonly bodyLimitBytes: number;
  url = '';

  protected constructor(
    private readonly name: string,
    private readonly options: FakeVendorOptions,
    defaultBodyLimit: number,
  ) {
    this.now = options.now ?? (() => new Date());
    this.bodyLimitBytes = options.bodyLimitBytes ?? defaultBodyLimit;
  }

  /** The environment an auth header belongs to, or null (401). */
  protected abstract authenticate(headers: IncomingMessage['headers']): FakeEnvironment | null;
  /** True for the routes faults apply to (ingestion). */
  protected abstract isIngest(method: string, path: string): boolean;
  protected abstract route(environment: FakeEnvironment, request: FakeRequest): Promise<FakeAnswer>;
  protected abstract unauthorized(): FakeAnswer;
  protected abstract tooLarge(): FakeAnswer;
  protected abstract faultBody(status: number, message: string): unknown;
  /** Drops kept state beyond `kept` (customers, dedup indexes). */
  protected abstract resetState(): void;
  protected abstract resolveCustomer(environment: FakeEnvironment, ref: string): string | null;
  /** How many customers an external id / ingest alias names (a vendor that lets a race create two says 2). */
  abstract customersNamed(environment: FakeEnvironment, alias: string): number;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const host = address.address.includes(':') ? `[${address.address}]` : address.address;
    this.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /** Queues a fault for the next ingest calls. */
  fail(fault: FakeFault): void {
    if (fault.kind === 'reject') for (const id of fault.eventIds) this.rejected.add(id);
    else this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
    this.rejected.clear();
  }

  reset(): void {
    this.kept.length = 0;
    this.received.clear();
    this.calls.length = 0;
    this.clearFaults();
    this.resetState();
  }

  /** Calls of a route (e.g. ingest) answered with a status, or all. */
  callsTo(route: string, status?: number): FakeCall[] {
    return this.calls.filter((c) => c.route === route && (status === undefined || c.status === status));
  }

  /** Totals of what the fake kept, per customer, metric and period. */
  totals(query: TotalsQuery = {}): FakeTotal[] {
    const environment = query.environment ?? 'live';
    const customerId = query.customer === undefined ? undefined : (this.resolveCustomer(environment, query.customer) ?? query.customer);
    const rows = new Map<
      string,
      { customer: string; metric: string; period: string; events: number; quantity: Decimal; amount: Decimal }
    >();
    for (const event of this.kept) {
      if (event.environment !== environment) continue;
      const customer = event.customerId ?? event.customerRef;
      if (customerId !== undefined && customer !== customerId) continue;
      if (query.from && event.timestamp < query.from) continue;
      if (query.to && event.timestamp >= query.to) continue;
      const period = periodOf(event.timestamp, query.bucket ?? 'none', query.from);
      const key = `${customer}\n${event.metric}\n${period}`;
      const row = rows.get(key) ?? { customer, metric: event.metric, period, events: 0, quantity: new Decimal(0), amount: new Decimal(0) };
      row.events += 1;
      row.quantity = row.quantity.plus(decimalOf(event.properties.quantity));
      row.amount = row.amount.plus(decimalOf(event.properties.amount_micros));
      rows.set(key, row);
    }
    return [...rows.values()]
      .sort((a, b) => (a.customer + a.metric + a.period < b.customer + b.metric + b.period ? -1 : 1))
      .map((r) => ({
        customer: r.customer,
        metric: r.metric,
        period: r.period,
        events: r.events,
        quantity: r.quantity.toFixed(),
        amountMicros: r.amount.toNumber(),
      }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    let route = `${method} ${url.pathname}`;
    let environment: FakeEnvironment | null = null;
    let events = 0;
    try {
      const raw = await readBody(req, this.bodyLimitBytes);
      if (raw === null) throw new HttpFailureFrom(this.tooLarge());
      const body = raw.length === 0 ? undefined : parseJson(raw);
      if (url.pathname.startsWith('/_fake/')) return this.send(res, this.admin(method, url, body));
      environment = this.authenticate(req.headers);
      if (!environment) throw new HttpFailureFrom(this.unauthorized());
      const request: FakeRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers, body };
      if (this.isIngest(method, url.pathname)) {
        route = 'ingest';
        events = countEvents(body);
        const refused = this.eventIdsOf(body).find((id) => this.rejected.has(id));
        if (refused !== undefined) throw new HttpFailure(400, this.faultBody(400, `event ${refused} is invalid`));
        const fault = this.takeFault();
        if (fault?.kind === 'timeout') {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          this.calls.push({ route, status: 0, events, environment });
          return;
        }
        if (fault?.kind === 'status') {
          const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
          throw new HttpFailure(fault.status, this.faultBody(fault.status, fault.message ?? `injected ${fault.status}`), headers);
        }
        if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault?.kind === 'drop') {
          // Validate and answer as if accepted, but keep nothing.
          const keptBefore = this.kept.length;
          const answer = await this.route(environment, request);
          this.forgetSince(keptBefore);
          this.kept.length = keptBefore;
          this.calls.push({ route, status: answer.status, events, environment });
          return this.send(res, answer);
        }
      }
      const answer = await this.route(environment, request);
      this.calls.push({ route, status: answer.status, events, environment });
      if (route === 'ingest' && answer.status < 300)
        for (const id of this.eventIdsOf(body)) this.received.set(id, (this.received.get(id) ?? 0) + 1);
      this.send(res, answer);
    } catch (error) {
      const failure = error instanceof HttpFailure ? error : new HttpFailure(500, this.faultBody(500, String(error)));
      this.calls.push({ route, status: failure.status, events, environment });
      this.send(res, { status: failure.status, body: failure.body, headers: failure.headers });
    }
  }

  /** The Tollgate event ids an ingest body carries. */
  protected abstract eventIdsOf(body: unknown): string[];

  /** A dropped call must not leave dedup marks either (the vendor lost it all): `kept` from this index is about to go. */
  protected abstract forgetSince(keptLength: number): void;

  private takeFault(): Exclude<FakeFault, { kind: 'reject' }> | null {
    const fault = this.faults[0];
    if (!fault) return null;
    fault.left -= 1;
    if (fault.left <= 0) this.faults.shift();
    return fault;
  }

  private admin(method: string, url: URL, body: unknown): FakeAnswer {
    const path = url.pathname;
    if (path === '/_fake/faults' && method === 'POST') {
      const list = (body as { faults?: FakeFault[] })?.faults ?? [body as FakeFault];
      for (const fault of list) this.fail(fault);
      return { status: 200, body: { queued: list.length } };
    }
    if (path === '/_fake/faults' && method === 'DELETE') {
      this.clearFaults();
      return { status: 200, body: { cleared: true } };
    }
    if (path === '/_fake/reset' && method === 'POST') {
      this.reset();
      return { status: 200, body: { reset: true } };
    }
    if (path === '/_fake/calls' && method === 'GET') return { status: 200, body: { data: this.calls } };
    if (path === '/_fake/totals' && method === 'GET') {
      const q = url.searchParams;
      const date = (name: string) => (q.get(name) ? new Date(q.get(name)!) : undefined);
      const data = this.totals({
        environment: (q.get('environment') as FakeEnvironment | null) ?? 'live',
        customer: q.get('customer') ?? undefined,
        from: date('from'),
        to: date('to'),
        bucket: (q.get('bucket') as TotalsQuery['bucket']) ?? 'none',
      });
      return { status: 200, body: { vendor: this.name, data } };
    }
    return { status: 404, body: { message: `no fake admin route ${method} ${path}` } };
  }

  private send(res: ServerResponse, answer: FakeAnswer): void {
    const headers: Record<string, string> = { ...answer.headers };
    let payload = '';
    if (answer.body !== undefined) {
      payload = JSON.stringify(answer.body);
      headers['content-type'] = 'application/json';
    }
    res.writeHead(answer.status, { ...headers, 'content-length': String(Buffer.byteLength(payload)) });
    res.end(payload);
  }
}

class HttpFailureFrom extends HttpFailure {
  constructor(answer: FakeAnswer) {
    super(answer.status, answer.body, answer.headers);
  }
}

/** The body, or null when it passes the limit (the rest is drained, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? null : Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpFailure(400, { code: 'validation_error', message: 'malformed JSON', http_status_code: 400 });
  }
}

function countEvents(body: unknown): number {
  if (Array.isArray(body)) return body.length;
  const events = (body as { events?: unknown } | undefined)?.events;
  if (Array.isArray(events)) return events.length;
  return body === undefined ? 0 : 1;
}

function decimalOf(value: unknown): Decimal {
  try {
    return new Decimal(typeof value === 'number' || typeof value === 'string' ? value : 0);
  } catch {
    return new Decimal(0);
  }
}

function periodOf(at: Date, bucket: 'none' | 'day' | 'month', from: Date | undefined): string {
  if (bucket === 'day') return at.toISOString().slice(0, 10);
  if (bucket === 'month') return at.toISOString().slice(0, 7);
  return from?.toISOString() ?? 'all';
}

import Ajv, { ValidateFunction } from 'ajv';
import { createHash, randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { FakeAnswer, FakeEnvironment, FakeRequest, FakeVendorOptions, FakeVendorServer, HttpFailure } from './fake-vendor-server';

export interface FakeMetronomeOptions extends FakeVendorOptions {
  /** Bearer token of each environment (separate Metronome accounts). */
  tokens?: Record<FakeEnvironment, string>;
}

export const FAKE_METRONOME_TOKENS: Record<FakeEnvironment, string> = { live: 'mn_fake_live_token', test: 'mn_fake_test_token' };

/** Metronome does not publish an ingest body cap; the fake refuses above 10 MiB with 413. */
export const METRONOME_BODY_LIMIT = 10 << 20;
const DAY_MS = 86_400_000;
const DEDUP_WINDOW_MS = 34 * DAY_MS;

/** The shapes of VENDORS.md M1/M2 (MN src/resources/v1/usage.ts, customers.ts). */
const INGEST_SCHEMA = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: {
    type: 'object',
    required: ['transaction_id', 'customer_id', 'event_type', 'timestamp'],
    additionalProperties: false,
    properties: {
      transaction_id: { type: 'string', minLength: 1 },
      customer_id: { type: 'string', minLength: 1 },
      event_type: { type: 'string', minLength: 1 },
      timestamp: { type: 'string', minLength: 1 },
      properties: { type: 'object' },
    },
  },
};
const CUSTOMER_SCHEMA = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    external_id: { type: 'string', minLength: 1 },
    ingest_aliases: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
};
const USAGE_SCHEMA = {
  type: 'object',
  required: ['starting_on', 'ending_before', 'window_size'],
  properties: {
    starting_on: { type: 'string' },
    ending_before: { type: 'string' },
    window_size: { enum: ['HOUR', 'DAY', 'NONE', 'hour', 'day', 'none'] },
    customer_ids: { type: 'array', items: { type: 'string' } },
    billable_metrics: { type: 'array' },
  },
};

interface Customer {
  id: string;
  external_id: string;
  ingest_aliases: string[];
  name: string;
  custom_fields: Record<string, string>;
  created_at: string;
}

/** The billable metrics the fake reports per event type (docs/billing-backends.md, Metronome setup). */
const AGGREGATES = ['events', 'quantity', 'amount_micros'] as const;

/**
 * A fake Metronome: `POST /v1/ingest` (a JSON array of 1 to 100 events; timestamps within 34
 * days back and 24 h ahead; transaction_id deduplicated for 34 days), customers with ingest
 * aliases (`POST /v1/customers`, `GET /v1/customers?ingest_alias=`, `Idempotency-Key`
 * honored), and `POST /v1/usage` reporting three billable metrics per event type. Bearer auth
 * (401 `{"message"}` otherwise).
 */
export class FakeMetronome extends FakeVendorServer {
  private readonly tokens: Record<FakeEnvironment, string>;
  private readonly customers = new Map<FakeEnvironment, Customer[]>();
  /** transaction_id → when first kept, per environment. */
  private readonly seen = new Map<string, number>();
  private readonly idempotent = new Map<string, FakeAnswer>();
  private readonly validators: { ingest: ValidateFunction; customer: ValidateFunction; usage: ValidateFunction };

  constructor(options: FakeMetronomeOptions = {}) {
    super('metronome', options, METRONOME_BODY_LIMIT);
    this.tokens = options.tokens ?? FAKE_METRONOME_TOKENS;
    const ajv = new Ajv({ allErrors: true });
    this.validators = { ingest: ajv.compile(INGEST_SCHEMA), customer: ajv.compile(CUSTOMER_SCHEMA), usage: ajv.compile(USAGE_SCHEMA) };
  }

  /** The customer an ingest alias names, if provisioned. */
  customer(environment: FakeEnvironment, alias: string): Customer | undefined {
    return (this.customers.get(environment) ?? []).find((c) => c.ingest_aliases.includes(alias) || c.id === alias);
  }

  customersNamed(environment: FakeEnvironment, alias: string): number {
    return (this.customers.get(environment) ?? []).filter((c) => c.ingest_aliases.includes(alias)).length;
  }

  protected authenticate(headers: IncomingMessage['headers']): FakeEnvironment | null {
    const auth = headers.authorization;
    if (auth === `Bearer ${this.tokens.live}`) return 'live';
    if (auth === `Bearer ${this.tokens.test}`) return 'test';
    return null;
  }

  protected isIngest(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/ingest';
  }

  protected unauthorized(): FakeAnswer {
    return { status: 401, body: { message: 'Unauthorized' } };
  }

  protected tooLarge(): FakeAnswer {
    return { status: 413, body: { message: 'Request body too large' } };
  }

  protected faultBody(_status: number, message: string): unknown {
    return { message };
  }

  protected resetState(): void {
    this.customers.clear();
    this.seen.clear();
    this.idempotent.clear();
  }

  protected forgetSince(keptLength: number): void {
    for (const event of this.kept.slice(keptLength)) this.seen.delete(`${event.environment}\n${event.id}`);
  }

  protected eventIdsOf(body: unknown): string[] {
    if (!Array.isArray(body)) return [];
    return body.map((e) => (e as { transaction_id?: unknown })?.transaction_id).filter((id): id is string => typeof id === 'string');
  }

  protected resolveCustomer(environment: FakeEnvironment, ref: string): string | null {
    return this.customer(environment, ref)?.id ?? null;
  }

  protected async route(environment: FakeEnvironment, request: FakeRequest): Promise<FakeAnswer> {
    const { method, path, body } = request;
    if (method === 'POST' && path === '/v1/ingest') {
      this.validate(this.validators.ingest, body);
      const events = body as { transaction_id: string; customer_id: string; event_type: string; timestamp: string; properties?: object }[];
      const now = this.now().getTime();
      // The whole array is checked before anything is kept: a refused call keeps nothing.
      for (const [i, event] of events.entries()) {
        const at = Date.parse(event.timestamp);
        if (!RFC3339.test(event.timestamp) || Number.isNaN(at)) throw bad(`usage[${i}].timestamp must be RFC 3339 with a 4-digit year`);
        if (at > now + DAY_MS) throw bad(`usage[${i}].timestamp is more than 24 hours in the future`);
        if (at < now - DEDUP_WINDOW_MS) throw bad(`usage[${i}].timestamp is more than 34 days in the past`);
      }
      for (const event of events) {
        const key = `${environment}\n${event.transaction_id}`;
        const first = this.seen.get(key);
        if (first !== undefined && now - first < DEDUP_WINDOW_MS) continue;
        this.seen.set(key, now);
        this.kept.push({
          environment,
          customerId: this.resolveCustomer(environment, event.customer_id),
          customerRef: event.customer_id,
          metric: event.event_type,
          id: event.transaction_id,
          timestamp: new Date(event.timestamp),
          properties: (event.properties ?? {}) as Record<string, unknown>,
          receivedAt: new Date(now),
        });
      }
      return { status: 200 };
    }
    if (method === 'GET' && path === '/v1/customers') {
      const alias = request.query.get('ingest_alias');
      const all = this.customers.get(environment) ?? [];
      const data = alias ? all.filter((c) => c.ingest_aliases.includes(alias)) : all;
      return { status: 200, body: { data, next_page: null } };
    }
    if (method === 'POST' && path === '/v1/customers')
      return this.idempotently(environment, request, () => this.createCustomer(environment, body));
    if (method === 'POST' && path === '/v1/usage') {
      this.validate(this.validators.usage, body);
      return { status: 200, body: { data: this.usage(environment, body as UsageRequest), next_page: null } };
    }
    return { status: 404, body: { message: `no route ${method} ${path}` } };
  }

  private createCustomer(environment: FakeEnvironment, body: unknown): FakeAnswer {
    this.validate(this.validators.customer, body);
    const request = body as { name: string; external_id?: string; ingest_aliases?: string[] };
    const all = this.customers.get(environment) ?? [];
    this.customers.set(environment, all);
    const aliases = [...new Set([...(request.ingest_aliases ?? []), ...(request.external_id ? [request.external_id] : [])])];
    if (all.some((c) => aliases.some((a) => c.ingest_aliases.includes(a)))) {
      return { status: 409, body: { message: 'ingest alias already in use' } };
    }
    const customer: Customer = {
      id: randomUUID(),
      external_id: request.external_id ?? aliases[0] ?? '',
      ingest_aliases: aliases,
      name: request.name,
      custom_fields: {},
      created_at: this.now().toISOString(),
    };
    all.push(customer);
    return { status: 200, body: { data: customer } };
  }

  /** Metronome caches a POST's answer per Idempotency-Key (≥ 24 h); the fake for its lifetime. */
  private idempotently(environment: FakeEnvironment, request: FakeRequest, run: () => FakeAnswer): FakeAnswer {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') return run();
    const cacheKey = `${environment}\n${request.path}\n${key}`;
    const cached = this.idempotent.get(cacheKey);
    if (cached) return cached;
    const answer = run();
    this.idempotent.set(cacheKey, answer);
    return answer;
  }

  /** `POST /v1/usage` with window NONE: one row per customer and billable metric (`<event type> <aggregate>`). */
  private usage(environment: FakeEnvironment, request: UsageRequest): unknown[] {
    const from = new Date(request.starting_on);
    const to = new Date(request.ending_before);
    const rows: unknown[] = [];
    for (const total of this.totals({ environment, from, to })) {
      if (request.customer_ids && !request.customer_ids.includes(total.customer)) continue;
      for (const aggregate of AGGREGATES) {
        const name = `${total.metric} ${aggregate}`;
        rows.push({
          customer_id: total.customer,
          billable_metric_id: createHash('sha256').update(name).digest('hex').slice(0, 32),
          billable_metric_name: name,
          start_timestamp: from.toISOString(),
          end_timestamp: to.toISOString(),
          value: aggregate === 'events' ? total.events : aggregate === 'quantity' ? Number(total.quantity) : total.amountMicros,
        });
      }
    }
    return rows;
  }

  private validate(validator: ValidateFunction, body: unknown): void {
    if (validator(body)) return;
    throw bad((validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; '));
  }
}

interface UsageRequest {
  starting_on: string;
  ending_before: string;
  window_size: string;
  customer_ids?: string[];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function bad(message: string): HttpFailure {
  return new HttpFailure(400, { message });
}

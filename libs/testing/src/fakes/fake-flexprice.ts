import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { FakeAnswer, FakeEnvironment, FakeRequest, FakeVendorOptions, FakeVendorServer, HttpFailure } from './fake-vendor-server';

/**
 * The Flexprice OpenAPI document (../shared/vendor-specs/flexprice-openapi.json), copied
 * verbatim into the repository so the fake also runs where ../shared is absent (docker).
 */
export const FLEXPRICE_SPEC_PATH = join(__dirname, 'specs', 'flexprice-openapi.json');

/** Flexprice's ingestion body cap (MaxEventIngestionBodyBytes = 32 MiB). */
export const FLEXPRICE_BODY_LIMIT = 32 << 20;

export interface FakeFlexpriceOptions extends FakeVendorOptions {
  /** API key of each environment (Flexprice derives the environment from the key). */
  keys?: Record<FakeEnvironment, string>;
}

export const FAKE_FLEXPRICE_KEYS: Record<FakeEnvironment, string> = { live: 'fp_fake_live_key', test: 'fp_fake_test_key' };

interface Customer {
  id: string;
  external_id: string;
  name: string;
  metadata?: Record<string, string>;
  environment_id: string;
  created_at: string;
  status: 'published';
}

/**
 * A fake Flexprice (`/v1`): bulk and single event ingestion, customers by external id, usage
 * statistics (`POST /v1/events/usage`, COUNT and SUM of a property). Auth by `x-api-key` (401
 * otherwise). Bodies are validated against the OpenAPI document (400 `validation_error`), the
 * 32 MiB cap answers 400 "request body too large". Events collapse like ClickHouse's
 * ReplacingMergeTree: only copies with the same event_id AND timestamp are one event.
 */
export class FakeFlexprice extends FakeVendorServer {
  private readonly keys: Record<FakeEnvironment, string>;
  private readonly customers = new Map<FakeEnvironment, Map<string, Customer>>();
  private readonly seen = new Map<string, number>();
  private readonly validators: { bulk: ValidateFunction; single: ValidateFunction; customer: ValidateFunction };
  private readonly customerFields: string[];

  constructor(options: FakeFlexpriceOptions = {}) {
    super('flexprice', options, FLEXPRICE_BODY_LIMIT);
    this.keys = options.keys ?? FAKE_FLEXPRICE_KEYS;
    const spec = compileSpec();
    this.validators = spec.validators;
    this.customerFields = spec.customerFields;
  }

  /** The fake's customer for an external id, if provisioned. */
  customer(environment: FakeEnvironment, externalId: string): Customer | undefined {
    return this.customers.get(environment)?.get(externalId);
  }

  customersNamed(environment: FakeEnvironment, alias: string): number {
    return this.customers.get(environment)?.has(alias) ? 1 : 0;
  }

  protected authenticate(headers: IncomingMessage['headers']): FakeEnvironment | null {
    const key = headers['x-api-key'];
    if (key === this.keys.live) return 'live';
    if (key === this.keys.test) return 'test';
    return null;
  }

  protected isIngest(method: string, path: string): boolean {
    return method === 'POST' && (path === '/v1/events/bulk' || path === '/v1/events');
  }

  protected unauthorized(): FakeAnswer {
    return { status: 401, body: error('permission_denied', 'missing or invalid API key', 401) };
  }

  protected tooLarge(): FakeAnswer {
    return { status: 400, body: error('validation_error', 'request body too large', 400) };
  }

  protected faultBody(status: number, message: string): unknown {
    const code =
      status === 429 ? 'too_many_requests' : status === 503 ? 'service_unavailable' : status >= 500 ? 'internal_error' : 'validation_error';
    return error(code, message, status);
  }

  protected resetState(): void {
    this.customers.clear();
    this.seen.clear();
  }

  protected forgetSince(keptLength: number): void {
    for (const event of this.kept.slice(keptLength)) this.seen.delete(dedupKey(event.environment, event.id, event.timestamp));
  }

  protected eventIdsOf(body: unknown): string[] {
    const events = (body as { events?: unknown })?.events;
    const list = Array.isArray(events) ? events : [body];
    return list.map((e) => (e as { event_id?: unknown })?.event_id).filter((id): id is string => typeof id === 'string');
  }

  protected resolveCustomer(environment: FakeEnvironment, ref: string): string | null {
    const byExternal = this.customers.get(environment)?.get(ref);
    if (byExternal) return byExternal.id;
    for (const customer of this.customers.get(environment)?.values() ?? []) if (customer.id === ref) return customer.id;
    return null;
  }

  protected async route(environment: FakeEnvironment, request: FakeRequest): Promise<FakeAnswer> {
    const { method, path, body } = request;
    if (method === 'POST' && path === '/v1/events/bulk') {
      this.validate(this.validators.bulk, body);
      for (const event of (body as { events: IngestEvent[] }).events) this.ingest(environment, event);
      return { status: 202, body: { message: 'Events accepted for processing' } };
    }
    if (method === 'POST' && path === '/v1/events') {
      this.validate(this.validators.single, body);
      const id = this.ingest(environment, body as IngestEvent);
      return { status: 202, body: { message: 'Event accepted for processing', event_id: id } };
    }
    const external = /^\/v1\/customers\/external\/([^/]+)$/.exec(path);
    if (method === 'GET' && external) {
      const customer = this.customer(environment, decodeURIComponent(external[1]));
      if (!customer) return { status: 404, body: error('not_found', 'customer not found', 404) };
      return { status: 200, body: this.customerResponse(customer) };
    }
    if (method === 'POST' && path === '/v1/customers') {
      this.validate(this.validators.customer, body);
      const { external_id, name, metadata } = body as { external_id: string; name: string; metadata?: Record<string, string> };
      const customers = this.customers.get(environment) ?? new Map<string, Customer>();
      this.customers.set(environment, customers);
      if (customers.has(external_id))
        return { status: 409, body: error('already_exists', 'customer with this external id already exists', 409) };
      const customer: Customer = {
        id: `cust_${randomUUID().replace(/-/g, '')}`,
        external_id,
        name,
        metadata,
        environment_id: `env_${environment}`,
        created_at: this.now().toISOString(),
        status: 'published',
      };
      customers.set(external_id, customer);
      return { status: 201, body: this.customerResponse(customer) };
    }
    if (method === 'POST' && path === '/v1/events/usage') return { status: 200, body: this.usage(environment, body) };
    return { status: 404, body: error('not_found', `no route ${method} ${path}`, 404) };
  }

  /**
   * Every field of CustomerResponse, null where the customer has none: Flexprice's Go structs
   * serialize every field, and the SDK (2.0.1) refuses an answer with a key missing.
   */
  private customerResponse(customer: Customer): Record<string, unknown> {
    return { ...Object.fromEntries(this.customerFields.map((f) => [f, null])), ...customer };
  }

  /** Keeps the event unless a copy with the same event_id and timestamp is already kept. */
  private ingest(environment: FakeEnvironment, event: IngestEvent): string {
    const timestamp = event.timestamp ? new Date(event.timestamp) : this.now();
    if (event.timestamp && (Number.isNaN(timestamp.getTime()) || !RFC3339.test(event.timestamp))) {
      throw new HttpFailure(400, error('validation_error', `timestamp ${event.timestamp} is not RFC 3339`, 400));
    }
    const id = event.event_id || `event_${randomUUID().replace(/-/g, '')}`;
    const key = dedupKey(environment, id, timestamp);
    if (this.seen.has(key)) return id;
    this.seen.set(key, this.kept.length);
    const externalId = event.external_customer_id.trim();
    this.kept.push({
      environment,
      customerId: this.resolveCustomer(environment, externalId),
      customerRef: externalId,
      metric: event.event_name.trim(),
      id,
      timestamp,
      properties: event.properties ?? {},
      receivedAt: this.now(),
    });
    return id;
  }

  /** `POST /v1/events/usage` (GetUsageRequest): COUNT, or SUM of `property_name`, over [start_time, end_time). */
  private usage(environment: FakeEnvironment, body: unknown): unknown {
    const request = body as {
      event_name?: string;
      external_customer_id?: string;
      aggregation_type?: string;
      property_name?: string;
      start_time?: string;
      end_time?: string;
    };
    if (!request?.event_name || !['COUNT', 'SUM'].includes(request.aggregation_type ?? '')) {
      throw new HttpFailure(400, error('validation_error', 'event_name and aggregation_type (COUNT or SUM) are required', 400));
    }
    if (request.aggregation_type === 'SUM' && !request.property_name) {
      throw new HttpFailure(400, error('validation_error', 'property_name is required for SUM', 400));
    }
    const from = request.start_time ? new Date(request.start_time) : new Date(this.now().getTime() - 7 * 86_400_000);
    const to = request.end_time ? new Date(request.end_time) : this.now();
    let value = new Decimal(0);
    for (const event of this.kept) {
      if (event.environment !== environment || event.metric !== request.event_name) continue;
      if (request.external_customer_id && event.customerRef !== request.external_customer_id) continue;
      if (event.timestamp < from || event.timestamp >= to) continue;
      value =
        request.aggregation_type === 'COUNT'
          ? value.plus(1)
          : value.plus(new Decimal(String(event.properties[request.property_name!] ?? 0)));
    }
    return { event_name: request.event_name, type: request.aggregation_type, value: value.toNumber(), results: [] };
  }

  private validate(validator: ValidateFunction, body: unknown): void {
    if (validator(body)) return;
    const detail = (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new HttpFailure(400, error('validation_error', `invalid request: ${detail}`, 400));
  }
}

interface IngestEvent {
  event_name: string;
  external_customer_id: string;
  event_id?: string;
  timestamp?: string;
  properties?: Record<string, string>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function dedupKey(environment: FakeEnvironment, id: string, timestamp: Date): string {
  return `${environment}\n${id}\n${timestamp.getTime()}`;
}

function error(code: string, message: string, status: number): unknown {
  return { code, message, http_status_code: status };
}

/** Validators for the request bodies the adapter sends, from the OpenAPI document's own schemas. */
function compileSpec(): {
  validators: { bulk: ValidateFunction; single: ValidateFunction; customer: ValidateFunction };
  customerFields: string[];
} {
  const spec = JSON.parse(readFileSync(FLEXPRICE_SPEC_PATH, 'utf8')) as {
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  // OpenAPI 3.0 schema objects carry `example`, `nullable` and `x-*`: not JSON Schema keywords.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'flexprice', components: spec.components });
  const ref = (name: string) => ajv.compile({ $ref: `flexprice#/components/schemas/${name}` });
  return {
    validators: { bulk: ref('BulkIngestEventRequest'), single: ref('IngestEventRequest'), customer: ref('CreateCustomerRequest') },
    // The SDK also reads parent_customer(_id), which the cut-down document does not list.
    customerFields: [...Object.keys(spec.components.schemas.CustomerResponse?.properties ?? {}), 'parent_customer', 'parent_customer_id'],
  };
}

import { Injectable } from '@nestjs/common';
import Metronome from '@metronome/sdk';
import { BillingConfig } from '@tollgate/config';
import { Decimal } from 'decimal.js';
import { BILLING_EVENT_NAMES, billingCustomerAlias, BillingEnvironment } from '../../domain/billable-event';
import { BillingError } from '../../domain/billing.error';
import { deliverInCalls, perEnvironment } from '../../domain/batching';
import {
  DeliveryItem,
  DeliveryOutcome,
  ProvisionCustomerRequest,
  ProvisionedCustomer,
  UsageQuery,
  UsageTotal,
} from '../../domain/delivery';
import { CallVerdict, parseRetryAfter, verdictOfStatus } from '../../domain/vendor-failure';
import { BillingBackend } from '../../ports/billing-backend.port';
import { METRONOME_MAX_BATCH, metronomeTimestampProblem, toMetronomeEvent } from './metronome-event.mapper';

/**
 * The billable metrics the usage read-back understands: `<event type> events` (COUNT),
 * `<event type> quantity` and `<event type> amount_micros` (SUM of the property), the setup
 * docs/billing-backends.md describes. Metronome reports usage per billable metric, not per event type.
 */
const METRIC_NAME = /^(tollgate\.[a-z_]+) (events|quantity|amount_micros)$/;

/**
 * Metronome through its official SDK (CommonJS build). `maxRetries: 0`: the SDK would retry
 * 409 and 429 on its own; the outbox dispatcher owns retries and Retry-After.
 */
@Injectable()
export class MetronomeBillingBackend extends BillingBackend {
  readonly name = 'metronome';
  readonly maxBatchSize = METRONOME_MAX_BATCH;
  private readonly clients = new Map<BillingEnvironment, Metronome>();

  constructor(
    private readonly config: BillingConfig,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
  }

  missingConfiguration(environment: BillingEnvironment): string[] {
    const { token, variables } = this.credentials(environment);
    return token ? [] : [variables.token];
  }

  async provisionCustomer(request: ProvisionCustomerRequest): Promise<ProvisionedCustomer> {
    const client = this.client(request.environment);
    const alias = billingCustomerAlias(request.orgId, request.environment);
    const found = await this.findByAlias(client, alias);
    if (found) return { customerId: found, alias, created: false };
    try {
      const created = await client.v1.customers.create(
        { name: request.name ?? request.orgId, external_id: alias, ingest_aliases: [alias] },
        // Metronome caches POST answers by Idempotency-Key for at least 24 h: a retried creation
        // answers the first one instead of a second customer.
        { headers: { 'Idempotency-Key': `tollgate-customer:${alias}` } },
      );
      return { customerId: created.data.id, alias, created: true };
    } catch (error) {
      // The alias is taken: a racing provisioning won; the customer it made is ours.
      if (statusOf(error) === 409) {
        const raced = await this.findByAlias(client, alias);
        if (raced) return { customerId: raced, alias, created: false };
      }
      throw this.vendorError('customer creation', error);
    }
  }

  deliver(items: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    return perEnvironment(items, async (environment, group) => {
      const missing = this.missingConfiguration(environment);
      if (missing.length > 0) {
        const reason = `metronome is not configured for ${environment}: ${missing.join(', ')} missing`;
        return group.map(({ event }) => ({ eventId: event.id, status: 'permanent' as const, reason }));
      }
      const client = this.client(environment);
      const now = this.now();
      const outcomes = new Map<string, DeliveryOutcome>();
      const sendable: DeliveryItem[] = [];
      for (const item of group) {
        const problem = metronomeTimestampProblem(item.event.occurredAt, now);
        if (problem) outcomes.set(item.event.id, { eventId: item.event.id, status: 'permanent', reason: problem });
        else sendable.push(item);
      }
      const sent = await deliverInCalls(sendable, this.maxBatchSize, (chunk) => this.ingest(client, chunk));
      sendable.forEach((item, i) => outcomes.set(item.event.id, sent[i]));
      return group.map(({ event }) => outcomes.get(event.id)!);
    });
  }

  async readUsage(query: UsageQuery): Promise<UsageTotal[]> {
    const client = this.client(query.environment);
    const byMetric = new Map<string, { events: number; quantity: Decimal; amountMicros: number }>();
    try {
      for await (const row of client.v1.usage.list({
        starting_on: query.from.toISOString(),
        ending_before: query.to.toISOString(),
        window_size: 'NONE',
        customer_ids: [query.customer.customerId],
      })) {
        const match = METRIC_NAME.exec(row.billable_metric_name);
        if (!match || row.customer_id !== query.customer.customerId) continue;
        const [, metric, aggregate] = match;
        const total = byMetric.get(metric) ?? { events: 0, quantity: new Decimal(0), amountMicros: 0 };
        const value = row.value ?? 0;
        if (aggregate === 'events') total.events += value;
        else if (aggregate === 'quantity') total.quantity = total.quantity.plus(value);
        else total.amountMicros += Math.round(value);
        byMetric.set(metric, total);
      }
    } catch (error) {
      throw this.vendorError('usage read-back', error);
    }
    return Object.values(BILLING_EVENT_NAMES)
      .filter((metric) => (byMetric.get(metric)?.events ?? 0) > 0)
      .map((metric) => {
        const total = byMetric.get(metric)!;
        return { metric, events: total.events, quantity: total.quantity.toFixed(), amountMicros: total.amountMicros };
      });
  }

  private async ingest(client: Metronome, chunk: readonly DeliveryItem[]): Promise<CallVerdict> {
    try {
      await client.v1.usage.ingest({ usage: chunk.map(toMetronomeEvent) });
      return { kind: 'accepted' };
    } catch (error) {
      const status = statusOf(error);
      // No status: timeout or connection failure. Resending is safe: transaction_id dedups.
      if (status === undefined) return { kind: 'retryable', reason: `metronome: ${describe(error)}` };
      const headers = (error as { headers?: Headers }).headers;
      const retryAfter = parseRetryAfter((name) => headers?.get(name), this.now());
      return verdictOfStatus(status, `metronome answered ${status}: ${vendorMessage(error)}`, retryAfter);
    }
  }

  private async findByAlias(client: Metronome, alias: string): Promise<string | null> {
    try {
      const page = await client.v1.customers.list({ ingest_alias: alias });
      const customer = page.data.find((c) => c.ingest_aliases.includes(alias));
      return customer?.id ?? null;
    } catch (error) {
      throw this.vendorError('customer lookup', error);
    }
  }

  private vendorError(operation: string, error: unknown): BillingError {
    if (error instanceof BillingError) return error;
    const status = statusOf(error);
    return BillingError.vendor(this.name, operation, status ? `${status} ${vendorMessage(error)}` : describe(error), {
      vendor_status: status ?? null,
    });
  }

  private client(environment: BillingEnvironment): Metronome {
    const { baseUrl, token, variables } = this.credentials(environment);
    if (!token) throw BillingError.notConfigured(this.name, environment, [variables.token]);
    let client = this.clients.get(environment);
    if (!client) {
      client = new Metronome({ bearerToken: token, baseURL: baseUrl, maxRetries: 0, timeout: this.config.vendorTimeoutMs });
      this.clients.set(environment, client);
    }
    return client;
  }

  private credentials(environment: BillingEnvironment) {
    return environment === 'live'
      ? { baseUrl: this.config.metronomeBaseUrl, token: this.config.metronomeBearerToken, variables: { token: 'METRONOME_BEARER_TOKEN' } }
      : {
          baseUrl: this.config.metronomeBaseUrlTest,
          token: this.config.metronomeBearerTokenTest,
          variables: { token: 'METRONOME_BEARER_TOKEN_TEST' },
        };
  }
}

/** The HTTP status of an SDK APIError; undefined for timeouts and connection failures. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Metronome's 4xx body is `{"message": "..."}`; bounded, it ends up in an outbox row. */
function vendorMessage(error: unknown): string {
  const body = (error as { error?: { message?: unknown } }).error;
  if (body && typeof body.message === 'string') return body.message.slice(0, 500);
  return describe(error);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}

import { Injectable } from '@nestjs/common';
import { BillingConfig } from '@tollgate/config';
import type { Flexprice } from '@flexprice/sdk';
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
import { importEsm } from '../shared/import-esm';
import { FLEXPRICE_MAX_BATCH, toFlexpriceEvent } from './flexprice-event.mapper';

interface Credentials {
  baseUrl: string;
  apiKey: string | undefined;
  variables: { baseUrl: string; apiKey: string };
}

/**
 * Flexprice through its official SDK (ESM only, loaded with importEsm). The SDK's own retries
 * stay off (its default): the outbox dispatcher owns retries, backoff and Retry-After, so a
 * call here is one attempt bounded by BILLING_VENDOR_TIMEOUT_MS.
 */
@Injectable()
export class FlexpriceBillingBackend extends BillingBackend {
  readonly name = 'flexprice';
  readonly maxBatchSize = FLEXPRICE_MAX_BATCH;
  private readonly clients = new Map<BillingEnvironment, Promise<Flexprice>>();

  constructor(
    private readonly config: BillingConfig,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
  }

  missingConfiguration(environment: BillingEnvironment): string[] {
    const credentials = this.credentials(environment);
    return credentials.apiKey ? [] : [credentials.variables.apiKey];
  }

  async provisionCustomer(request: ProvisionCustomerRequest): Promise<ProvisionedCustomer> {
    const client = await this.client(request.environment);
    const alias = billingCustomerAlias(request.orgId, request.environment);
    const found = await this.findByExternalId(client, alias);
    if (found) return { customerId: found, alias, created: false };
    try {
      const created = await client.customers.createCustomer({
        externalId: alias,
        name: request.name ?? request.orgId,
        metadata: { tollgate_org_id: request.orgId, tollgate_environment: request.environment },
      });
      if (!created.id) throw BillingError.vendor(this.name, 'customer creation', 'the answer has no customer id');
      return { customerId: created.id, alias, created: true };
    } catch (error) {
      // Created, but the SDK could not read the answer (2.0.1 refuses one with a field missing): look it up.
      if (isSuccess(statusOf(error))) {
        const made = await this.findByExternalId(client, alias);
        if (made) return { customerId: made, alias, created: true };
      }
      // A racing provisioning created it first: the customer exists, which is all we wanted.
      if (statusOf(error) === 409) {
        const raced = await this.findByExternalId(client, alias);
        if (raced) return { customerId: raced, alias, created: false };
      }
      throw this.vendorError('customer creation', error);
    }
  }

  deliver(items: readonly DeliveryItem[]): Promise<DeliveryOutcome[]> {
    return perEnvironment(items, async (environment, group) => {
      const missing = this.missingConfiguration(environment);
      if (missing.length > 0) {
        const reason = `flexprice is not configured for ${environment}: ${missing.join(', ')} missing`;
        return group.map(({ event }) => ({ eventId: event.id, status: 'permanent' as const, reason }));
      }
      const client = await this.client(environment);
      return deliverInCalls(group, this.maxBatchSize, (chunk) => this.sendBulk(client, chunk));
    });
  }

  async readUsage(query: UsageQuery): Promise<UsageTotal[]> {
    const client = await this.client(query.environment);
    const totals: UsageTotal[] = [];
    for (const metric of Object.values(BILLING_EVENT_NAMES)) {
      const base = {
        eventName: metric,
        externalCustomerId: query.customer.alias,
        startTime: query.from.toISOString(),
        endTime: query.to.toISOString(),
      };
      try {
        const [events, quantity, amount] = await Promise.all([
          client.events.getUsageStatistics({ ...base, aggregationType: 'COUNT' }),
          client.events.getUsageStatistics({ ...base, aggregationType: 'SUM', propertyName: 'quantity' }),
          client.events.getUsageStatistics({ ...base, aggregationType: 'SUM', propertyName: 'amount_micros' }),
        ]);
        const count = events.value ?? 0;
        if (count === 0) continue;
        totals.push({
          metric,
          events: count,
          quantity: new Decimal(quantity.value ?? 0).toFixed(),
          amountMicros: Math.round(amount.value ?? 0),
        });
      } catch (error) {
        throw this.vendorError('usage read-back', error);
      }
    }
    return totals;
  }

  private async sendBulk(client: Flexprice, chunk: readonly DeliveryItem[]): Promise<CallVerdict> {
    try {
      await client.events.ingestEventsBulk({ events: chunk.map(toFlexpriceEvent) });
      return { kind: 'accepted' };
    } catch (error) {
      return this.verdictOf(error);
    }
  }

  private verdictOf(error: unknown): CallVerdict {
    const status = statusOf(error);
    if (status === undefined) {
      // Timeout, connection refused or reset, or an answer the SDK could not read: the events may
      // or may not have arrived; a resend is safe (event_id + timestamp collapse it).
      return { kind: 'retryable', reason: `flexprice: ${describe(error)}` };
    }
    // A 2xx the SDK could not parse (ResponseValidationError): the vendor accepted the events.
    if (isSuccess(status)) return { kind: 'accepted' };
    const headers = (error as { headers?: Headers }).headers;
    const retryAfter = parseRetryAfter((name) => headers?.get(name), this.now());
    return verdictOfStatus(status, `flexprice answered ${status}: ${vendorMessage(error)}`, retryAfter);
  }

  private async findByExternalId(client: Flexprice, externalId: string): Promise<string | null> {
    try {
      const customer = await client.customers.getCustomerByExternalId(externalId);
      return customer.id ?? null;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.vendorError('customer lookup', error);
    }
  }

  private vendorError(operation: string, error: unknown): BillingError {
    if (error instanceof BillingError) return error;
    return BillingError.vendor(this.name, operation, statusOf(error) ? `${statusOf(error)} ${vendorMessage(error)}` : describe(error), {
      vendor_status: statusOf(error) ?? null,
    });
  }

  private client(environment: BillingEnvironment): Promise<Flexprice> {
    const credentials = this.credentials(environment);
    if (!credentials.apiKey) {
      return Promise.reject(BillingError.notConfigured(this.name, environment, [credentials.variables.apiKey]));
    }
    let client = this.clients.get(environment);
    if (!client) {
      const apiKey = credentials.apiKey;
      client = importEsm<typeof import('@flexprice/sdk')>('@flexprice/sdk').then(
        ({ Flexprice: Sdk }) => new Sdk({ serverURL: credentials.baseUrl, apiKeyAuth: apiKey, timeoutMs: this.config.vendorTimeoutMs }),
      );
      this.clients.set(environment, client);
    }
    return client;
  }

  private credentials(environment: BillingEnvironment): Credentials {
    return environment === 'live'
      ? {
          baseUrl: this.config.flexpriceBaseUrl,
          apiKey: this.config.flexpriceApiKey,
          variables: { baseUrl: 'FLEXPRICE_BASE_URL', apiKey: 'FLEXPRICE_API_KEY' },
        }
      : {
          baseUrl: this.config.flexpriceBaseUrlTest,
          apiKey: this.config.flexpriceApiKeyTest,
          variables: { baseUrl: 'FLEXPRICE_BASE_URL_TEST', apiKey: 'FLEXPRICE_API_KEY_TEST' },
        };
  }
}

/** The HTTP status of an SDK error (FlexPriceError has `statusCode`); undefined for transport failures. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/** The vendor's own message ({code, message} body), bounded: it ends up in an outbox row. */
function vendorMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown; error?: { message?: unknown } };
      const message = parsed.message ?? parsed.error?.message;
      if (typeof message === 'string') return message.slice(0, 500);
    } catch {
      return body.slice(0, 200);
    }
  }
  return describe(error);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}

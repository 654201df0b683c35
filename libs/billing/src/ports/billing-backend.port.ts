import { BillingEnvironment } from '../domain/billable-event';
import { DeliveryItem, DeliveryOutcome, ProvisionCustomerRequest, ProvisionedCustomer, UsageQuery, UsageTotal } from '../domain/delivery';

/**
 * A billing vendor as Tollgate needs it. Domain types only: no SDK type crosses this port.
 * Every adapter passes libs/testing/contracts/billing-backend.contract.ts.
 */
export abstract class BillingBackend {
  /** The registry name (`flexprice`, `metronome`): what an organization's routing names. */
  abstract readonly name: string;

  /** Most events the vendor takes in one call. */
  abstract readonly maxBatchSize: number;

  /**
   * The configuration variables this backend lacks for an environment; empty when configured.
   * A backend that is not configured for an environment cannot be chosen for it.
   */
  abstract missingConfiguration(environment: BillingEnvironment): string[];

  /**
   * Finds the organization's vendor customer by its external id / ingest alias, or creates it.
   * Idempotent: a second call (or a racing one) answers the same customer with `created: false`.
   * Throws BillingError (`billing_backend_not_configured`, `billing_vendor_error`).
   */
  abstract provisionCustomer(request: ProvisionCustomerRequest): Promise<ProvisionedCustomer>;

  /**
   * Sends events, answering one outcome per item in the order given; never throws for a vendor
   * failure (that is an outcome). Any number of items: the adapter splits them into calls of at
   * most `maxBatchSize`, grouped by environment (each environment has its own credentials). A
   * call the vendor refuses as invalid is bisected, so only the events it refuses are permanent.
   * Resending an event (same id, same occurred_at) is counted once by the vendor.
   */
  abstract deliver(items: readonly DeliveryItem[]): Promise<DeliveryOutcome[]>;

  /** What the vendor reports for the customer in [from, to), per metric (event name). */
  abstract readUsage(query: UsageQuery): Promise<UsageTotal[]>;
}

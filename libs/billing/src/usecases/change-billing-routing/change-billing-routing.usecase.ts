import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { BillingRoutingRepository } from '../../adapters/mikro-orm/billing-routing.repository';
import { BillingBackends } from '../../billing-backends.registry';
import { nextPeriodStart, NO_BACKEND, OrgBillingRouting, routeProblems } from '../../domain/routing';

export interface RoutingRequest {
  backend: string;
  shadow: string | null;
  /** Vendor customer ids to use instead of provisioning (they are what events name the customer by). */
  customerIds: Record<string, string>;
  /** `now` (default) or at the start of the next billing period (UTC calendar month). */
  effective: 'now' | 'next_period';
}

const CUSTOMER_ID = /^[A-Za-z0-9._:@-]{1,255}$/;

/**
 * Sets an organization's primary backend and shadow in the caller's environment: checked
 * (known, configured for the environment, shadow ≠ backend), vendor customers provisioned
 * through the port when none is given or recorded, effective for events recorded after the
 * change, audited with before and after.
 */
@Injectable()
export class ChangeBillingRoutingUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly routing: BillingRoutingRepository,
    private readonly backends: BillingBackends,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, request: RoutingRequest): Promise<OrgBillingRouting> {
    await this.organizations.execute(ctx, orgId);
    const environment = ctx.principal.environment;
    const known = this.backends.names();
    const problems = routeProblems(request.backend, request.shadow, known);
    for (const [name, id] of Object.entries(request.customerIds)) {
      if (!known.includes(name)) problems.push({ field: `customer_ids.${name}`, message: `must name one of ${known.join(', ')}` });
      else if (typeof id !== 'string' || !CUSTOMER_ID.test(id))
        problems.push({ field: `customer_ids.${name}`, message: 'must be 1 to 255 characters of A-Z a-z 0-9 . _ : @ -' });
    }
    if (problems.length > 0) throw PlatformError.validation(problems);
    const chosen = [request.backend, request.shadow].filter((b): b is string => b !== null && b !== NO_BACKEND);
    // 422 naming the missing variables, before anything is provisioned.
    for (const name of chosen) this.backends.requireConfigured(name, environment);

    const existing = await this.routing.find(orgId, environment);
    const customers: Record<string, { customerId: string; alias: string }> = {};
    for (const name of chosen) {
      const given = request.customerIds[name];
      if (given) customers[name] = { customerId: given, alias: given };
      else if (!existing.customers[name]) {
        const provisioned = await this.backends.get(name).provisionCustomer({ orgId, environment });
        customers[name] = { customerId: provisioned.customerId, alias: provisioned.alias };
      }
    }
    const now = this.clock.now();
    const { after } = await this.routing.change(
      {
        orgId,
        environment,
        backend: request.backend,
        shadow: request.shadow,
        effectiveFrom: request.effective === 'next_period' ? nextPeriodStart(now) : null,
        customers,
        audit: auditRecord(
          ctx,
          { orgId, environment },
          { action: 'billing.routing_changed', resourceType: 'billing_routing', resourceId: `${orgId}:${environment}` },
        ),
      },
      now,
    );
    return after;
  }
}

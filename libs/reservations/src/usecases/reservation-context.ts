import { Injectable } from '@nestjs/common';
import { PlatformError, TollgateError } from '@tollgate/platform';
import { QuotaScope, QuotaStore } from '@tollgate/quota';
import { CallContext, GetOrganizationUseCase, GetOrgSettingsUseCase, Organization, OrgSettings } from '@tollgate/tenancy';
import { ReservationPricing, ReservationView } from '../domain/reservation';
import { ReservationError } from '../domain/reservation.error';
import { ReservationRepository } from '../adapters/mikro-orm/reservation.repository';

/** Priced holds this instance made, so their commits find the recorded rates without a read. */
const RECENT_PRICING_MAX = 50_000;

/** What every reservation use case resolves first: the organization, its settings, the scope. */
@Injectable()
export class ReservationContext {
  private readonly recentPricing = new Map<string, ReservationPricing>();

  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly settings: GetOrgSettingsUseCase,
    private readonly reservations: ReservationRepository,
    private readonly store: QuotaStore,
  ) {}

  async forOrg(ctx: CallContext, orgId: string): Promise<{ org: Organization; settings: OrgSettings; scope: QuotaScope }> {
    const org = await this.organizations.execute(ctx, orgId);
    const settings = await this.settings.execute(orgId, ctx.principal.environment);
    return { org, settings, scope: { orgId, environment: ctx.principal.environment } };
  }

  /** Remembers how a hold made here was priced (oldest forgotten first). */
  rememberPricing(id: string, pricing: ReservationPricing): void {
    this.recentPricing.set(id, pricing);
    if (this.recentPricing.size > RECENT_PRICING_MAX) this.recentPricing.delete(this.recentPricing.keys().next().value!);
  }

  /**
   * How a reservation was priced (null: a raw amount): from memory when this instance made the
   * hold, else from Postgres (which also checks the caller may see it).
   */
  async pricingOf(ctx: CallContext, id: string): Promise<ReservationPricing | null> {
    const recent = this.recentPricing.get(id);
    if (recent) {
      this.recentPricing.delete(id);
      return recent;
    }
    return (await this.reservation(ctx, id)).pricing;
  }

  /** The reservation if the caller may see it (its organization and environment); else the same 404. */
  async reservation(ctx: CallContext, id: string): Promise<ReservationView> {
    const view = await this.reservations.findView(id);
    if (!view || !ctx.principal.canAccessOrg(view.orgId) || view.environment !== ctx.principal.environment) throw ReservationError.unknown(id);
    return view;
  }

  /**
   * Postgres did not record what the store just did: drop the scope from the store, so it is
   * rebuilt from Postgres (where the hold is as it was) before it answers again. Fail closed.
   */
  async undoStore(scope: QuotaScope, cause: unknown): Promise<never> {
    await this.store.unload(scope).catch(() => undefined);
    if (cause instanceof TollgateError) throw cause;
    throw storeUnavailable();
  }
}

export function storeUnavailable(): PlatformError {
  return new PlatformError('store_unavailable', 'The reservation could not be recorded; nothing was changed. Try again.', { retry_after_seconds: 1 });
}

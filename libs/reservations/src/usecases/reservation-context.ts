import { Injectable } from '@nestjs/common';
import { BoundedMap, PlatformError, TollgateError } from '@tollgate/platform';
import { HierarchyRepository, QuotaScope, QuotaStore } from '@tollgate/quota';
import { CallContext, GetOrganizationUseCase, GetOrgSettingsUseCase, Organization, OrgSettings } from '@tollgate/tenancy';
import { ReservationPricing, ReservationView } from '../domain/reservation';
import { ReservationError } from '../domain/reservation.error';
import { ReservationRepository } from '../adapters/mikro-orm/reservation.repository';

/** Priced holds this instance made, so their commits find the recorded rates without a read. */
const RECENT_PRICING_MAX = 50_000;

/** What every reservation use case resolves first: the organization, its settings, the scope. */
@Injectable()
export class ReservationContext {
  private readonly recentPricing = new BoundedMap<string, ReservationPricing>(RECENT_PRICING_MAX);

  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly settings: GetOrgSettingsUseCase,
    private readonly reservations: ReservationRepository,
    private readonly store: QuotaStore,
    private readonly hierarchy: HierarchyRepository,
  ) {}

  async forOrg(ctx: CallContext, orgId: string): Promise<{ org: Organization; settings: OrgSettings; scope: QuotaScope }> {
    const org = await this.organizations.execute(ctx, orgId);
    const settings = await this.settings.execute(orgId, ctx.principal.environment);
    return { org, settings, scope: { orgId, environment: ctx.principal.environment } };
  }

  /**
   * The checks of reserve, batch and quote before any hold: the organization may admit
   * (status), every ttl is within its maximum, and with auto_create off the project and user
   * exist. Answers the scope, the expiry of each ttl and the budget alert thresholds.
   */
  async admissible(
    ctx: CallContext,
    orgId: string,
    projectId: string,
    userId: string,
    ttls: { field: string; seconds?: number }[],
    now: Date,
  ) {
    const { org, settings, scope } = await this.forOrg(ctx, orgId);
    if (org.status === 'suspended')
      throw new ReservationError('org_suspended', `Organization '${org.id}' is suspended: admissions are refused.`);
    if (org.status === 'past_due' && settings.past_due_policy === 'refuse') {
      throw new ReservationError('org_past_due', `Organization '${org.id}' is past due: admissions are refused.`);
    }
    const tooLong = ttls.filter((t) => (t.seconds ?? settings.default_ttl_seconds) > settings.max_ttl_seconds);
    if (tooLong.length > 0) {
      throw PlatformError.validation(
        tooLong.map((t) => ({ field: t.field, message: `ttl_seconds must not exceed ${settings.max_ttl_seconds}` })),
      );
    }
    if (!settings.auto_create) await this.requireKnown(scope, projectId, userId);
    const expiries = ttls.map((t) => new Date(now.getTime() + (t.seconds ?? settings.default_ttl_seconds) * 1000));
    // The budget alerts the store decides in the same call as the hold (decision 029).
    return { scope, expiries, thresholds: settings.budget_alert_thresholds };
  }

  private async requireKnown(scope: QuotaScope, projectId: string, userId: string): Promise<void> {
    if (!(await this.hierarchy.findProject(scope, projectId))) {
      throw new ReservationError('unknown_project', `Project '${projectId}' was not found (auto_create is off).`);
    }
    if (!(await this.hierarchy.findUser(scope, projectId, userId))) {
      throw new ReservationError('unknown_user', `User '${userId}' of project '${projectId}' was not found (auto_create is off).`);
    }
  }

  /** Remembers how a hold made here was priced (oldest forgotten first). */
  rememberPricing(id: string, pricing: ReservationPricing): void {
    this.recentPricing.set(id, pricing);
  }

  /**
   * How a reservation was priced (null: a raw amount): from memory when this instance made the
   * hold, else from Postgres (which also checks the caller may see it).
   */
  async pricingOf(ctx: CallContext, id: string): Promise<ReservationPricing | null> {
    return this.recentPricing.take(id) ?? (await this.reservation(ctx, id)).pricing;
  }

  /** The reservation if the caller may see it (its organization and environment); else the same 404. */
  async reservation(ctx: CallContext, id: string): Promise<ReservationView> {
    const view = await this.reservations.findView(id);
    if (!view || !ctx.principal.canAccessOrg(view.orgId) || view.environment !== ctx.principal.environment)
      throw ReservationError.unknown(id);
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
  return new PlatformError('store_unavailable', 'The reservation could not be recorded; nothing was changed. Try again.', {
    retry_after_seconds: 1,
  });
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { PlatformError } from '@tollgate/platform';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { BillingRoutingRepository } from '../../adapters/mikro-orm/billing-routing.repository';
import { sentTotals, unpairedEvents, unroutedCount } from '../../adapters/mikro-orm/outbox.repository';
import { BillingBackends } from '../../billing-backends.registry';
import { BILLING_EVENT_NAMES, billingCustomerAlias } from '../../domain/billable-event';
import { UsageTotal } from '../../domain/delivery';
import { BackendFigures, compareBackend, Difference, monthlyPeriods } from '../../domain/shadow-report';

const MAX_PERIODS = 13;
const MAX_EVENT_IDS = 100;

/**
 * Per UTC month and metric (event name): what Tollgate sent each backend that received the
 * organization's events, what each backend reports, every difference, and a plain verdict.
 * Finance decides a cut-over from it.
 */
@Injectable()
export class GetShadowReportUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly routing: BillingRoutingRepository,
    private readonly backends: BillingBackends,
    private readonly em: EntityManager,
  ) {}

  async execute(ctx: CallContext, orgId: string, from: Date, to: Date) {
    await this.organizations.execute(ctx, orgId);
    if (from >= to) throw PlatformError.validation([{ field: 'to', message: 'to must be after from' }]);
    // Bounded before the months are listed: a window of centuries is refused, not iterated.
    const months = (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth();
    const periods = months < MAX_PERIODS ? monthlyPeriods(from, to) : [];
    if (periods.length === 0 || periods.length > MAX_PERIODS)
      throw PlatformError.validation([{ field: 'to', message: `the window spans at most ${MAX_PERIODS} months` }]);
    const environment = ctx.principal.environment;
    const routing = await this.routing.find(orgId, environment);
    const [sent, unpaired, unrouted] = await Promise.all([
      sentTotals(this.em, orgId, environment, from, to),
      unpairedEvents(this.em, orgId, environment, from, to, MAX_EVENT_IDS),
      unroutedCount(this.em, orgId, environment, from, to),
    ]);
    const involved = [...new Set(sent.map((s) => s.backend))];
    const differences: Difference[] = [];
    const report = [];
    for (const p of periods) {
      // What each backend holds for the period, read once per backend (all metrics come back).
      const reported = new Map<string, UsageTotal[] | Error>();
      await Promise.all(
        involved.map(async (name) => {
          const customer = routing.customers[name] ?? {
            customerId: billingCustomerAlias(orgId, environment),
            alias: billingCustomerAlias(orgId, environment),
          };
          try {
            const backend = this.backends.get(name);
            reported.set(name, await backend.readUsage({ environment, customer: { ...customer, created: false }, from: p.from, to: p.to }));
          } catch (error) {
            reported.set(name, error as Error);
          }
        }),
      );
      const metrics = [];
      for (const kind of ['usage', 'correction'] as const) {
        const metric = BILLING_EVENT_NAMES[kind];
        const figures: BackendFigures[] = [];
        for (const name of involved) {
          const s = sent.find((x) => x.period === p.period && x.metric === kind && x.backend === name);
          const read = reported.get(name);
          const total = Array.isArray(read) ? read.find((t) => t.metric === metric) : undefined;
          if (!s && !(total && total.events > 0)) continue;
          const f: BackendFigures = {
            backend: name,
            roles: s?.roles ?? [],
            sent: { events: s?.delivered ?? 0, quantity: s?.quantity ?? '0', amount: s?.amount ?? 0 },
            undelivered: s?.undelivered ?? 0,
            reported:
              read instanceof Error
                ? null
                : { events: total?.events ?? 0, quantity: total?.quantity ?? '0', amount: total?.amountMicros ?? 0 },
            ...(read instanceof Error ? { error: read.message } : {}),
          };
          figures.push(f);
          differences.push(...compareBackend(p.period, metric, f));
        }
        // Dual-written events one side has not accepted: the events behind a primary/shadow gap.
        const gaps = unpaired.filter((u) => u.period === p.period && u.kind === kind);
        for (const name of new Set(gaps.map((g) => g.backend))) {
          const ids = gaps.filter((g) => g.backend === name).map((g) => g.eventId);
          differences.push({
            kind: 'missing',
            period: p.period,
            metric,
            backend: name,
            actual: ids.length,
            detail: `${ids.length}${ids.length === MAX_EVENT_IDS ? '+' : ''} dual-written events not accepted by ${name}`,
            event_ids: ids,
          });
        }
        if (figures.length > 0) metrics.push({ metric, backends: figures });
      }
      report.push({ period: p.period, from: p.from.toISOString(), to: p.to.toISOString(), metrics });
    }
    if (unrouted > 0) {
      differences.push({
        kind: 'not_delivered',
        period: periods[0].period,
        metric: '*',
        backend: 'default',
        actual: unrouted,
        detail: `${unrouted} events not routed yet`,
      });
    }
    return {
      org_id: orgId,
      environment,
      from: from.toISOString(),
      to: to.toISOString(),
      backend: routing.current.backend,
      shadow: routing.current.shadow,
      agree: differences.length === 0,
      periods: report,
      differences,
    };
  }
}

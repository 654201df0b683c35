import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { EnsureScopeLoadedUseCase, NodeRef, QUOTA_LEVELS, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { AdmissionPricing, AdmissionRequest } from '../admission-pricing';
import { presentOption, presentPrice } from '../reservation-answers';
import { ReservationContext } from '../reservation-context';

export interface QuoteInput {
  orgId: string;
  projectId: string;
  userId: string;
  request: AdmissionRequest;
  ttlSeconds?: number;
}

/**
 * The dry run of a reserve (POST /v1/quotes): the same checks and the same price, and what
 * the store would decide now, read without holding anything. Another admission may change
 * the answer a moment later; only a reserve decides.
 */
@Injectable()
export class QuoteUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly pricing: AdmissionPricing,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, input: QuoteInput): Promise<Record<string, unknown>> {
    const now = this.clock.now();
    const { scope } = await this.context.admissible(
      ctx,
      input.orgId,
      input.projectId,
      input.userId,
      [{ field: 'ttl_seconds', seconds: input.ttlSeconds }],
      now,
    );
    const priced = await this.pricing.price(scope, input.request, now);
    const { requested } = priced;
    const nodes: NodeRef[] = [
      { level: 'org' },
      { level: 'project', projectId: input.projectId },
      { level: 'user', projectId: input.projectId, userId: input.userId },
    ];
    const { nodes: figures } = await this.loader.run(scope, () => this.store.usage(scope, nodes, now));
    const available = figures.map((f) => f.available);
    const short = available.findIndex((a) => a !== null && a < requested.amount);
    const limited = available.filter((a): a is number => a !== null);
    const fitsUpTo = limited.length === 0 ? null : Math.min(...limited);
    const options = short < 0 ? [] : (await priced.alternatives()).filter((a) => fitsUpTo === null || a.amount <= fitsUpTo);
    const allowDowngrade = input.request.kind === 'operation' && input.request.allowDowngrade;
    const decision = short < 0 ? 'admitted' : allowDowngrade && options.length > 0 ? 'downgraded' : 'refused';
    return {
      org_id: scope.orgId,
      project_id: input.projectId,
      user_id: input.userId,
      ...(requested.pricing
        ? { product: requested.pricing.product, dimensions: requested.pricing.dimensions, usage: requested.pricing.usage }
        : {}),
      amount: requested.amount,
      ...(requested.pricing ? { price: presentPrice(requested.pricing) } : {}),
      admitted: decision !== 'refused',
      decision,
      limiting_level: short < 0 ? null : QUOTA_LEVELS[short],
      available: { org: available[0], project: available[1], user: available[2] },
      ...(decision === 'downgraded' ? { downgrade_to: presentOption(options[0]) } : {}),
      downgrade_options: short < 0 ? [] : options.map(presentOption),
    };
  }
}

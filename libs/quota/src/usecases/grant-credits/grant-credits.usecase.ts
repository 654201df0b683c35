import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository, newGrantId } from '../../adapters/mikro-orm/hierarchy.repository';
import { CreditGrant } from '../../domain/hierarchy';
import { storeError } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';
import { SyncCreditPoolUseCase } from '../sync-credit-pool/sync-credit-pool.usecase';

/** A top-up or promotional grant: adds to the organization's pool until `expires_at`. */
@Injectable()
export class GrantCreditsUseCase {
  constructor(
    private readonly hierarchy: HierarchyRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly pool: SyncCreditPoolUseCase,
    private readonly clock: Clock,
  ) {}

  async execute(
    ctx: CallContext,
    orgId: string,
    input: { amount: number; reason: string; source?: string; expiresAt?: Date },
  ): Promise<CreditGrant> {
    await this.organizations.execute(ctx, orgId);
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw PlatformError.validation([{ field: 'expires_at', message: 'expires_at must be in the future' }]);
    }
    const grant: CreditGrant = {
      id: newGrantId(),
      orgId,
      environment: ctx.principal.environment,
      amount: input.amount,
      reason: input.reason,
      source: input.source ?? null,
      expiresAt: input.expiresAt ?? null,
      createdAt: now,
    };
    const scope = { orgId, environment: grant.environment };
    // Read before the transaction: nothing inside it may wait on another connection.
    const limit = await this.pool.poolLimit(scope, grant);
    await this.hierarchy.insertGrant(
      grant,
      auditRecord(
        ctx,
        { orgId, environment: grant.environment },
        {
          action: 'credits.granted',
          resourceType: 'credit_grant',
          resourceId: grant.id,
          before: null,
          after: { amount: grant.amount, reason: grant.reason, source: grant.source, expires_at: grant.expiresAt?.toISOString() ?? null },
        },
      ),
      async () => {
        // The pool includes the grant before the grant is answered (its row is not committed
        // yet, so its amount was added to the pool explicitly).
        try {
          await this.pool.apply(scope, limit);
        } catch (error) {
          throw storeError(error);
        }
      },
    );
    // Concurrent grants may each have set a pool without the other (too low, never too high): settle it.
    await this.pool.execute(scope).catch(() => undefined);
    return grant;
  }
}

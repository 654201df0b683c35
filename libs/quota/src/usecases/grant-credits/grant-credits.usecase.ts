import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Clock, PlatformError } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository, newGrantId } from '../../adapters/mikro-orm/hierarchy.repository';
import { CreditGrant } from '../../domain/hierarchy';
import { storeError } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';
import { SyncCreditPoolUseCase } from '../sync-credit-pool/sync-credit-pool.usecase';

/** The grant id of an external fact (a vendor's top-up transaction): the same fact always names the same grant. */
export function externalGrantId(key: string): string {
  return 'cg_x' + createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

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
    input: { amount: number; reason: string; source?: string; expiresAt?: Date; id?: string },
  ): Promise<CreditGrant> {
    await this.organizations.execute(ctx, orgId);
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw PlatformError.validation([{ field: 'expires_at', message: 'expires_at must be in the future' }]);
    }
    const grant: CreditGrant = {
      id: input.id ?? newGrantId(),
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

  /**
   * A grant for an external fact (`key`: a vendor's transaction id), at most once: the grant id is
   * derived from the key, so a second call (a redelivered webhook, two deliveries racing) finds the
   * first grant's row taken and grants nothing.
   */
  async grantOnce(
    ctx: CallContext,
    orgId: string,
    key: string,
    input: { amount: number; reason: string; source: string; expiresAt?: Date },
  ): Promise<{ grant: CreditGrant | null; created: boolean }> {
    try {
      return { grant: await this.execute(ctx, orgId, { ...input, id: externalGrantId(key) }), created: true };
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return { grant: null, created: false };
      throw error;
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { GetOrganizationUseCase, GetOrgSettingsUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { creditPoolLimit, poolInstants } from '../../domain/credit-pool';
import { CreditGrant } from '../../domain/hierarchy';
import { QuotaScope } from '../../domain/quota';
import { HoldLedger } from '../../ports/hold-ledger.port';

/**
 * The organization node's limit, from its grants, its spend over time and its overdraft (see
 * credit-pool.ts). A `past_due` organization under the `grace` policy may spend at most
 * `past_due_grace_amount` after it became past due: its limit is the lower of the pool and what
 * it had committed then plus the grace, so holds and commits since count against the grace.
 */
@Injectable()
export class ComputeCreditPoolUseCase {
  constructor(
    private readonly hierarchy: HierarchyRepository,
    private readonly settings: GetOrgSettingsUseCase,
    private readonly organizations: GetOrganizationUseCase,
    private readonly clock: Clock,
    private readonly ledger: HoldLedger,
  ) {}

  /** `pending`: a grant whose transaction has not committed yet, counted in. */
  async execute(scope: QuotaScope, pending?: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>): Promise<number> {
    const now = this.clock.now();
    const [stored, settings, org] = await Promise.all([
      this.hierarchy.listAllGrants(scope),
      this.settings.execute(scope.orgId, scope.environment),
      this.organizations.findById(scope.orgId, { fresh: true }),
    ]);
    const grants: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>[] = pending ? [...stored, pending] : stored;
    const graceSince = org?.status === 'past_due' && settings.past_due_policy === 'grace' ? org.statusChangedAt : null;
    const instants = poolInstants(grants, now);
    const asked = graceSince ? [...instants, graceSince] : instants;
    const consumed = await this.ledger.consumedAt(scope, asked);
    const byInstant = new Map(instants.map((instant, i) => [instant.getTime(), consumed[i]]));
    const pool = creditPoolLimit({
      grants,
      consumedAt: (instant) => byInstant.get(instant.getTime()) ?? 0,
      overdraft: settings.overdraft_limit,
      now,
    });
    if (!graceSince) return pool;
    return Math.min(pool, consumed[asked.length - 1] + settings.past_due_grace_amount);
  }
}

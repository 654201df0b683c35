import { Injectable, Optional } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { GetOrgSettingsUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { creditPoolLimit, poolInstants } from '../../domain/credit-pool';
import { CreditGrant } from '../../domain/hierarchy';
import { QuotaScope } from '../../domain/quota';
import { HoldLedger } from '../../ports/hold-ledger.port';

/** The organization node's limit, from its grants, its spend over time and its overdraft (see credit-pool.ts). */
@Injectable()
export class ComputeCreditPoolUseCase {
  constructor(
    private readonly hierarchy: HierarchyRepository,
    private readonly settings: GetOrgSettingsUseCase,
    private readonly clock: Clock,
    @Optional() private readonly ledger?: HoldLedger,
  ) {}

  /** `pending`: a grant whose transaction has not committed yet, counted in. */
  async execute(scope: QuotaScope, pending?: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>): Promise<number> {
    const now = this.clock.now();
    const [stored, settings] = await Promise.all([this.hierarchy.listAllGrants(scope), this.settings.execute(scope.orgId, scope.environment)]);
    const grants: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>[] = pending ? [...stored, pending] : stored;
    const instants = poolInstants(grants, now);
    const consumed = this.ledger ? await this.ledger.consumedAt(scope, instants) : instants.map(() => 0);
    const byInstant = new Map(instants.map((instant, i) => [instant.getTime(), consumed[i]]));
    return creditPoolLimit({ grants, consumedAt: (instant) => byInstant.get(instant.getTime()) ?? 0, overdraft: settings.overdraft_limit, now });
  }
}

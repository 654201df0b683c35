import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Clock, InvalidationBus } from '@tollgate/platform';
import { ORGANIZATION_TOPIC, SETTINGS_TOPIC } from '@tollgate/tenancy';
import { ComputeCreditPoolUseCase } from '../compute-credit-pool/compute-credit-pool.usecase';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { CreditGrant } from '../../domain/hierarchy';
import { QuotaScope } from '../../domain/quota';
import { QuotaStore } from '../../ports/quota-store.port';

const EXPIRY_SWEEP_MS = 1_000;
const RESWEEP_ON_START_MS = 7 * 86_400_000;

/**
 * Keeps the organization node's limit (its credit pool: credits that still count plus the
 * overdraft) equal to what Postgres says, after a grant, an overdraft change, or a grant's expiry.
 */
@Injectable()
export class SyncCreditPoolUseCase implements OnModuleInit {
  private readonly logger = new Logger('CreditPool');
  private sweptUntil: Date;

  constructor(
    private readonly store: QuotaStore,
    private readonly hierarchy: HierarchyRepository,
    private readonly pool: ComputeCreditPoolUseCase,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
  ) {
    // A restart re-covers the last week, so a grant that expired while no instance ran is not missed.
    this.sweptUntil = new Date(clock.now().getTime() - RESWEEP_ON_START_MS);
  }

  onModuleInit(): void {
    // The overdraft is a setting: when it changes anywhere, the pool changes here.
    this.bus.subscribe(SETTINGS_TOPIC, (key) => {
      const [orgId, environment] = [key.slice(0, key.lastIndexOf(':')), key.slice(key.lastIndexOf(':') + 1)];
      if (environment !== 'live' && environment !== 'test') return;
      this.execute({ orgId, environment }).catch((error) => this.logger.warn(`pool sync for ${key} failed: ${(error as Error).message}`));
    });
    // A status change starts or ends a past_due grace, which caps the pool (ComputeCreditPool).
    this.bus.subscribe(ORGANIZATION_TOPIC, (orgId) => {
      for (const environment of ['live', 'test'] as const) {
        this.execute({ orgId, environment }).catch((error) =>
          this.logger.warn(`pool sync for ${orgId}:${environment} failed: ${(error as Error).message}`),
        );
      }
    });
  }

  async execute(scope: QuotaScope): Promise<void> {
    await this.apply(scope, await this.poolLimit(scope));
  }

  /** The pool Postgres says, with `pending`: a grant whose transaction has not committed yet. */
  poolLimit(scope: QuotaScope, pending?: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>): Promise<number> {
    return this.pool.execute(scope, pending);
  }

  /** Store only, no database read: safe inside a transaction (PGlite runs one at a time). */
  async apply(scope: QuotaScope, limit: number): Promise<void> {
    // Not loaded: nothing to correct; the next load reads the same Postgres.
    await this.store.configure(scope, { level: 'org' }, { limit, period: 'none' });
  }

  /** Expired credit stops counting: within about a second of a grant's expiry, the pool shrinks. */
  @Interval(EXPIRY_SWEEP_MS)
  async sweepExpiredGrants(): Promise<void> {
    const until = this.clock.now();
    try {
      const scopes = await this.hierarchy.scopesWithGrantsExpiring(this.sweptUntil, until);
      for (const scope of scopes) await this.execute(scope);
      this.sweptUntil = until;
    } catch (error) {
      // sweptUntil stays: the next sweep covers this window again.
      this.logger.warn(`grant expiry sweep failed: ${(error as Error).message}`);
    }
  }
}

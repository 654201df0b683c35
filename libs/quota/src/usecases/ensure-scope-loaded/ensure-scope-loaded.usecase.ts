import { Injectable } from '@nestjs/common';
import { Clock, PlatformError, TollgateError } from '@tollgate/platform';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { ComputeCreditPoolUseCase } from '../compute-credit-pool/compute-credit-pool.usecase';
import { NotLoaded, QuotaScope, QuotaSnapshot } from '../../domain/quota';
import { QuotaStore } from '../../ports/quota-store.port';
import { HoldLedger } from '../../ports/hold-ledger.port';

/** Users' configs per store call when a scope is rebuilt (one Lua call of 2 × this many arguments). */
const USER_PAGE_SIZE = 10_000;
/** How long an operation waits for its scope to be loaded (here or by another instance) before a 503. */
const LOAD_WAIT_MS = 30_000;
const LOAD_POLL_MS = 50;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The quota store is a cache of Postgres. Before the store answers for a scope it must hold
 * that scope's state: on `not_loaded` (new or flushed Redis, restart of the embedded store)
 * the state is rebuilt from Postgres, installed atomically, and the operation runs again.
 * One rebuild per scope at a time in this process; across instances, `load` refuses a second.
 */
@Injectable()
export class EnsureScopeLoadedUseCase {
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: QuotaStore,
    private readonly hierarchy: HierarchyRepository,
    private readonly pool: ComputeCreditPoolUseCase,
    private readonly clock: Clock,
    private readonly ledger: HoldLedger,
  ) {}

  /** Runs a store operation, loading the scope first when the store does not have it. */
  async run<T extends { kind: string }>(scope: QuotaScope, operation: () => Promise<T | NotLoaded>): Promise<Exclude<T, NotLoaded>> {
    const waitUntil = Date.now() + LOAD_WAIT_MS;
    let loads = 0;
    try {
      for (;;) {
        const outcome = await operation();
        if (outcome.kind !== 'not_loaded') return outcome as Exclude<T, NotLoaded>;
        // Loaded three times and still not there: something keeps evicting it. Fail closed.
        if (loads === 3 || Date.now() > waitUntil) break;
        if (await this.load(scope)) loads++;
        else await delay(LOAD_POLL_MS); // another instance is loading it: wait for that load
      }
    } catch (error) {
      throw storeError(error);
    }
    throw new PlatformError('store_unavailable', 'The quota store could not load this organization in time; try again.', {
      retry_after_seconds: 1,
    });
  }

  /** Loads the scope unless it is; false when another instance is loading it. */
  load(scope: QuotaScope): Promise<boolean> {
    const key = `${scope.orgId}:${scope.environment}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.rebuild(scope).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Everything the store needs for a scope, read from Postgres, but users' own configs (see rebuild). */
  async snapshot(scope: QuotaScope): Promise<QuotaSnapshot> {
    const now = this.clock.now();
    const [pool, projects, holds, committed, quantities] = await Promise.all([
      this.pool.execute(scope),
      this.hierarchy.listProjects(scope),
      this.ledger.activeHolds(scope, now),
      this.ledger.committed(scope, now),
      this.ledger.quantities(scope, now),
    ]);
    return {
      nodes: [
        { node: { level: 'org' }, config: { limit: pool, period: 'none' } },
        ...projects
          .filter((p) => p.limit !== null)
          .map((p) => ({ node: { level: 'project' as const, projectId: p.id }, config: { limit: p.limit, period: p.period } })),
      ],
      defaultUserConfigs: projects
        .filter((p) => p.defaultUserLimit !== null)
        .map((p) => ({ projectId: p.id, config: { limit: p.defaultUserLimit, period: p.defaultUserPeriod } })),
      holds,
      committed,
      quantities,
    };
  }

  /**
   * Users with caps of their own are streamed in pages: an organization with a million of them
   * loads in bounded memory. Every writer of the scope waits while it is not loaded, so what
   * was read first is still true when the last page is in.
   */
  private async rebuild(scope: QuotaScope): Promise<boolean> {
    const outcome = await this.store.load(scope, await this.snapshot(scope), this.hierarchy.userConfigPages(scope, USER_PAGE_SIZE));
    return outcome.kind !== 'busy';
  }
}

/** Any failure to reach the store is a 503 that admits nothing (fail closed). */
export function storeError(error: unknown): Error {
  if (error instanceof TollgateError) return error;
  return new PlatformError('store_unavailable', 'The quota store is unavailable; nothing was changed. Try again.', {
    retry_after_seconds: 1,
  });
}

import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { periodWindow } from '../../domain/period';
import { MAX_USAGE_NODES, NodeRef, NodeUsage } from '../../domain/quota';
import { nodeKey } from '../../domain/node-key';
import { HoldLedger } from '../../ports/hold-ledger.port';
import { QuotaStore } from '../../ports/quota-store.port';

import { EnsureScopeLoadedUseCase } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';

/** Users per page of the tree (every project is in every page): an org may have millions. */
export const DEFAULT_TREE_USERS = 10_000;

export interface UserPosition {
  projectId: string;
  userId: string;
}

export interface UsageFigures {
  id: string;
  limit: number | null;
  committed: number;
  /** Of committed, what commits charged above their holds (the overage policy's overdraw). */
  overage: number;
  reserved: number;
  available: number | null;
  period: string;
  period_start: string | null;
  period_end: string | null;
}

export interface UsageTree {
  org: UsageFigures;
  projects: (UsageFigures & { default_user_limit: number | null; default_user_period: string; users: UsageFigures[] })[];
  /** The users after this page's, when there are more: pass it as `cursor`. */
  next_cursor: UserPosition | null;
}

/** The hierarchy with live figures from the store (the counters admissions are decided on). */
@Injectable()
export class GetUsageTreeUseCase {
  constructor(
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly hierarchy: HierarchyRepository,
    private readonly ledger: HoldLedger,
    private readonly organizations: GetOrganizationUseCase,
    private readonly clock: Clock,
  ) {}

  /**
   * The org, every project, and one page of users in (project, user) order after `after`.
   * Projects and users first seen by a reservation are rows too (auto-created), so the rows
   * are the whole hierarchy.
   */
  async execute(ctx: CallContext, orgId: string, page: { after?: UserPosition; limit?: number } = {}): Promise<UsageTree> {
    await this.organizations.execute(ctx, orgId);
    const scope = { orgId, environment: ctx.principal.environment };
    const limit = page.limit ?? DEFAULT_TREE_USERS;
    const now = this.clock.now();
    const [projects, listed, overages] = await Promise.all([
      this.hierarchy.listProjects(scope),
      this.hierarchy.listUsers(scope, limit + 1, page.after),
      this.ledger.overage(scope, now),
    ]);
    const overage = new Map(overages.map((o) => [`${nodeKey(o.node)}#${o.periodId}`, o.amount]));
    const more = listed.length > limit;
    const users = more ? listed.slice(0, limit) : listed;
    const nodes: NodeRef[] = [
      { level: 'org' },
      ...projects.map((p) => ({ level: 'project' as const, projectId: p.id })),
      ...users.map((u) => ({ level: 'user' as const, projectId: u.projectId, userId: u.id })),
    ];
    const figures: NodeUsage[] = [];
    for (let i = 0; i < nodes.length; i += MAX_USAGE_NODES) {
      const chunk = nodes.slice(i, i + MAX_USAGE_NODES);
      const outcome = await this.loader.run(scope, () => this.store.usage(scope, chunk, now));
      figures.push(...outcome.nodes);
    }
    const present = (id: string, usage: NodeUsage): UsageFigures => {
      const window = periodWindow(usage.period, now);
      return {
        id,
        limit: usage.limit,
        committed: usage.committed,
        overage: overage.get(`${nodeKey(usage.node)}#${usage.periodId}`) ?? 0,
        reserved: usage.reserved,
        available: usage.available,
        period: usage.period,
        period_start: window ? window.start.toISOString() : null,
        period_end: window ? window.end.toISOString() : null,
      };
    };
    let next = 1;
    const projectFigures = projects.map((p) => ({
      ...present(p.id, figures[next++]),
      default_user_limit: p.defaultUserLimit,
      default_user_period: p.defaultUserPeriod,
      users: [] as UsageFigures[],
    }));
    const byProject = new Map(projectFigures.map((p) => [p.id, p]));
    for (const u of users) byProject.get(u.projectId)?.users.push(present(u.id, figures[next++]));
    const last = users[users.length - 1];
    return {
      org: present(orgId, figures[0]),
      projects: projectFigures,
      next_cursor: more ? { projectId: last.projectId, userId: last.id } : null,
    };
  }
}

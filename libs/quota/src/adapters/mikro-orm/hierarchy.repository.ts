import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { recordWebhookEvents } from '@tollgate/platform';
import { appendAuditEntry, AuditRecord } from '@tollgate/tenancy';
import { CreditGrant, Project, ProjectUser } from '../../domain/hierarchy';
import { Period } from '../../domain/period';
import { NodeConfig, NodeRef, QuotaEnvironment, QuotaScope } from '../../domain/quota';
import { CreditGrantRow, CreditGrantSchema, ProjectRow, ProjectSchema, ProjectUserRow, ProjectUserSchema } from './quota.entities';

/** bigint columns arrive as strings; every stored amount is ≤ 2^53−1 by the API's rules. */
function amount(value: string | null): number | null {
  return value === null ? null : Number(value);
}

function projectToDomain(row: ProjectRow): Project {
  return {
    orgId: row.orgId,
    environment: row.environment as QuotaEnvironment,
    id: row.id,
    name: row.name,
    limit: amount(row.limitAmount),
    period: row.period as Period,
    defaultUserLimit: amount(row.defaultUserLimit),
    defaultUserPeriod: row.defaultUserPeriod as Period,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function userToDomain(row: ProjectUserRow): ProjectUser {
  return {
    orgId: row.orgId,
    environment: row.environment as QuotaEnvironment,
    projectId: row.projectId,
    id: row.id,
    limit: amount(row.limitAmount),
    period: row.period as Period,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function grantToDomain(row: CreditGrantRow): CreditGrant {
  return {
    id: row.id,
    orgId: row.orgId,
    environment: row.environment as QuotaEnvironment,
    amount: Number(row.amount),
    reason: row.reason,
    source: row.source,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  };
}

/**
 * Postgres side of the hierarchy: the system of record the quota store is rebuilt from.
 * Every write runs `inTransaction` before committing (the store update), so a failed store
 * update rolls the row back and the two never disagree for longer than a failed commit.
 * `inTransaction` must not read the database: embedded PGlite runs one transaction at a time,
 * so a query on another connection would wait for this one forever.
 */
@Injectable()
export class HierarchyRepository {
  constructor(private readonly em: EntityManager) {}

  async findProject(scope: QuotaScope, projectId: string): Promise<Project | null> {
    const row = await this.em.fork().findOne(ProjectSchema, { orgId: scope.orgId, environment: scope.environment, id: projectId });
    return row ? projectToDomain(row) : null;
  }

  async findUser(scope: QuotaScope, projectId: string, userId: string): Promise<ProjectUser | null> {
    const row = await this.em
      .fork()
      .findOne(ProjectUserSchema, { orgId: scope.orgId, environment: scope.environment, projectId, id: userId });
    return row ? userToDomain(row) : null;
  }

  async listProjects(scope: QuotaScope): Promise<Project[]> {
    const rows = await this.em
      .fork()
      .find(ProjectSchema, { orgId: scope.orgId, environment: scope.environment }, { orderBy: { id: 'asc' } });
    return rows.map(projectToDomain);
  }

  /**
   * Users in (project, user) code-point order after `after`, at most `max` (keyset: an org may
   * have millions). COLLATE "C": pages merged with other lists in JavaScript order the same way.
   */
  async listUsers(scope: QuotaScope, max: number, after?: { projectId: string; userId: string }): Promise<ProjectUser[]> {
    // Raw SQL for the collation; columns named as the entity's, timestamps arrive as strings.
    const rows = await this.em
      .getConnection()
      .execute<(Omit<ProjectUserRow, 'createdAt' | 'updatedAt'> & { createdAt: string | Date; updatedAt: string | Date })[]>(
        `select org_id as "orgId", environment, project_id as "projectId", id, limit_amount as "limitAmount", period,
              created_at as "createdAt", updated_at as "updatedAt" from project_users
        where org_id = ? and environment = ? ${after ? 'and (project_id collate "C", id collate "C") > (?, ?)' : ''}
        order by project_id collate "C", id collate "C" limit ?`,
        [scope.orgId, scope.environment, ...(after ? [after.projectId, after.userId] : []), max],
      );
    return rows.map((r) => userToDomain({ ...r, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) }));
  }

  /**
   * The users with a limit of their own, in pages of at most `pageSize`, by primary key
   * (keyset): an organization may have millions, more than one query should materialise.
   */
  async *userConfigPages(scope: QuotaScope, pageSize: number): AsyncGenerator<{ node: NodeRef; config: NodeConfig }[]> {
    const connection = this.em.getConnection();
    let after: [string, string] | null = null;
    for (;;) {
      const rows: { project_id: string; id: string; limit_amount: string; period: string }[] = await connection.execute(
        `select project_id, id, limit_amount, period from project_users
          where org_id = ? and environment = ? and limit_amount is not null
            ${after ? 'and (project_id, id) > (?, ?)' : ''}
          order by project_id, id limit ?`,
        [scope.orgId, scope.environment, ...(after ?? []), pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        node: { level: 'user' as const, projectId: r.project_id, userId: r.id },
        config: { limit: Number(r.limit_amount), period: r.period as Period },
      }));
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = [last.project_id, last.id];
    }
  }

  async saveProject(project: Project, audit: AuditRecord, inTransaction: () => Promise<void>): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await tx.upsert(ProjectSchema, {
        orgId: project.orgId,
        environment: project.environment,
        id: project.id,
        name: project.name,
        limitAmount: project.limit === null ? null : String(project.limit),
        period: project.period,
        defaultUserLimit: project.defaultUserLimit === null ? null : String(project.defaultUserLimit),
        defaultUserPeriod: project.defaultUserPeriod,
        createdAt: project.createdAt,
        updatedAt: project.updatedAt,
      });
      appendAuditEntry(tx, audit, project.updatedAt);
      await tx.flush();
      await inTransaction();
    });
  }

  async saveUser(user: ProjectUser, audit: AuditRecord, inTransaction: () => Promise<void>): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await tx.upsert(ProjectUserSchema, {
        orgId: user.orgId,
        environment: user.environment,
        projectId: user.projectId,
        id: user.id,
        limitAmount: user.limit === null ? null : String(user.limit),
        period: user.period,
        createdAt: user.createdAt,
        updatedAt: user.updatedAt,
      });
      appendAuditEntry(tx, audit, user.updatedAt);
      await tx.flush();
      await inTransaction();
    });
  }

  /**
   * Ensures the project row exists: a project first named by a user write is created with no
   * limit, and audited like any other creation (in the same statement, only if it was new).
   */
  async ensureProject(scope: QuotaScope, projectId: string, now: Date, by: { actor: string; requestId: string | null }): Promise<void> {
    await this.em.getConnection().execute(
      `with created as (
         insert into projects (org_id, environment, id, name, limit_amount, period, default_user_limit, default_user_period, created_at, updated_at)
         values (?, ?, ?, null, null, 'none', null, 'none', ?, ?) on conflict do nothing returning id
       )
       insert into audit_log (id, org_id, environment, actor, action, resource_type, resource_id, before, after, request_id, created_at)
       select ?, ?, ?, ?, 'project.created', 'project', id, null,
              '{"name": null, "limit": null, "period": "none", "default_user_limit": null, "default_user_period": "none"}'::jsonb, ?, ?
         from created`,
      [scope.orgId, scope.environment, projectId, now, now, newAuditId(), scope.orgId, scope.environment, by.actor, by.requestId, now],
    );
  }

  async insertGrant(grant: CreditGrant, audit: AuditRecord, inTransaction: () => Promise<void>): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      tx.create(CreditGrantSchema, { ...grant, amount: String(grant.amount) });
      appendAuditEntry(tx, audit, grant.createdAt);
      await tx.flush();
      // The signal commits with the grant or not at all (decision 029); its id is the grant's.
      await recordWebhookEvents(tx, [
        {
          id: `credits.granted:${grant.id}`,
          orgId: grant.orgId,
          environment: grant.environment,
          type: 'credits.granted',
          data: {
            grant_id: grant.id,
            amount: grant.amount,
            reason: grant.reason,
            source: grant.source,
            expires_at: grant.expiresAt?.toISOString() ?? null,
            granted_at: grant.createdAt.toISOString(),
          },
          occurredAt: grant.createdAt,
        },
      ]);
      await inTransaction();
    });
  }

  /** Newest first, `limit + 1` rows before the (created_at, id) position. */
  async listGrants(scope: QuotaScope, before: { createdAt: string; id: string } | undefined, limit: number): Promise<CreditGrant[]> {
    const where: Record<string, unknown> = { orgId: scope.orgId, environment: scope.environment };
    if (before) {
      where.$or = [{ createdAt: { $lt: new Date(before.createdAt) } }, { createdAt: new Date(before.createdAt), id: { $lt: before.id } }];
    }
    const rows = await this.em.fork().find(CreditGrantSchema, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return rows.map(grantToDomain);
  }

  /** Every grant of the scope, oldest first (the pool is computed from their whole history). */
  async listAllGrants(scope: QuotaScope): Promise<CreditGrant[]> {
    const rows = await this.em
      .fork()
      .find(CreditGrantSchema, { orgId: scope.orgId, environment: scope.environment }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(grantToDomain);
  }

  /** Scopes with a grant that expired in (since, until]: their pool must shrink. */
  async scopesWithGrantsExpiring(since: Date, until: Date): Promise<QuotaScope[]> {
    const rows = await this.em
      .getConnection()
      .execute<{ org_id: string; environment: QuotaEnvironment }[]>(
        `select distinct org_id, environment from credit_grants where expires_at > ? and expires_at <= ?`,
        [since, until],
      );
    return rows.map((r) => ({ orgId: r.org_id, environment: r.environment }));
  }
}

function newAuditId(): string {
  return 'aud_' + randomBytes(12).toString('base64url');
}

export function newGrantId(): string {
  return 'cg_' + randomBytes(12).toString('base64url');
}

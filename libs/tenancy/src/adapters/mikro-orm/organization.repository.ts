import { Injectable } from '@nestjs/common';
import { EntityManager, LockMode, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { recordWebhookEvents, WebhookEvent } from '@tollgate/platform';
import { AuditRecord } from '../../domain/audit-entry';
import { Environment } from '../../domain/access';
import { Organization, OrgStatus, OveragePolicy } from '../../domain/organization';
import { OrgSettings } from '../../domain/org-settings';
import { TenancyError } from '../../domain/tenancy.error';
import { persistAudit } from './audit-rows';
import { mergeSettingsRow, SettingsChange } from './settings.repository';
import { OrganizationRow, OrganizationSchema, SettingsSchema } from './tenancy.entities';

function toDomain(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    status: row.status as OrgStatus,
    statusChangedAt: row.statusChangedAt,
    rateCardId: row.rateCardId,
    overagePolicy: row.overagePolicy as OveragePolicy,
    overagePercent: row.overagePercent,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

@Injectable()
export class OrganizationRepository {
  constructor(private readonly em: EntityManager) {}

  async findById(id: string): Promise<Organization | null> {
    const row = await this.em.fork().findOne(OrganizationSchema, { id });
    return row ? toDomain(row) : null;
  }

  /** `limit + 1` organizations after `afterId` in id order (the caller pages them). */
  async listAfter(afterId: string | undefined, limit: number, onlyId?: string): Promise<Organization[]> {
    const where: Record<string, unknown> = {};
    if (afterId !== undefined) where.id = { $gt: afterId };
    if (onlyId !== undefined) where.id = afterId !== undefined && afterId >= onlyId ? { $in: [] } : onlyId;
    const rows = await this.em.fork().find(OrganizationSchema, where, { orderBy: { id: 'asc' }, limit: limit + 1 });
    return rows.map(toDomain);
  }

  /** The organization, its first settings for each environment, and the audit entries: all or nothing. */
  async insertWithSettings(org: Organization, settings: Record<Environment, Partial<OrgSettings>>, audits: AuditRecord[]): Promise<void> {
    try {
      await this.em.fork().transactional(async (tx) => {
        tx.create(OrganizationSchema, { ...org });
        // Rows carry no ORM relations, so the parent is flushed before the rows that reference it.
        await tx.flush();
        for (const [environment, values] of Object.entries(settings)) {
          tx.create(SettingsSchema, { orgId: org.id, environment, values, updatedAt: org.createdAt });
        }
        for (const audit of audits) persistAudit(tx, audit, org.createdAt);
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new TenancyError('org_already_exists', `Organization '${org.id}' already exists.`);
      }
      throw error;
    }
  }

  /**
   * An organization change and a settings change, each optional, in one transaction. Returns
   * the settings as written, when they changed. A status change is decided against the row as
   * locked here (not the caller's earlier read), and records `org.status_changed` for both
   * environments in the same transaction (`statusReason`: why, when a signal caused it).
   */
  async update(
    orgChange: { org: Organization; audit: AuditRecord; statusReason?: string } | null,
    settingsChange: SettingsChange | null,
    now: Date,
  ): Promise<OrgSettings | null> {
    return this.em.fork().transactional(async (tx) => {
      if (orgChange) {
        const { org, audit } = orgChange;
        // Locked: two concurrent changes of the status are one after the other, each from what the other left.
        const row = await tx.findOneOrFail(OrganizationSchema, { id: org.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const from = row.status as OrgStatus;
        const statusChanged = from !== org.status;
        // The caller's instant, unless its read of the organization was older than the row's last change.
        const changedAt = !statusChanged ? row.statusChangedAt : org.statusChangedAt > row.statusChangedAt ? org.statusChangedAt : now;
        tx.assign(row, {
          name: org.name,
          status: org.status,
          statusChangedAt: changedAt,
          rateCardId: org.rateCardId,
          overagePolicy: org.overagePolicy,
          overagePercent: org.overagePercent,
          updatedAt: org.updatedAt,
        });
        persistAudit(tx, audit, now);
        if (statusChanged) await recordWebhookEvents(tx, statusChangedEvents(org, from, changedAt, orgChange.statusReason));
      }
      return settingsChange ? mergeSettingsRow(tx, settingsChange, now) : null;
    });
  }
}

/**
 * `org.status_changed`, once per environment: an organization is not per environment, but
 * webhook endpoints are. The id names the change (its instant), so recording it twice is one row.
 */
function statusChangedEvents(org: Organization, from: OrgStatus, at: Date, reason: string | undefined): WebhookEvent[] {
  const changedAt = at.toISOString();
  return (['live', 'test'] as const).map((environment) => ({
    id: `org.status_changed:${org.id}:${changedAt}:${environment}`,
    orgId: org.id,
    environment,
    type: 'org.status_changed',
    data: { from, to: org.status, changed_at: changedAt, ...(reason !== undefined ? { reason } : {}) },
    occurredAt: at,
  }));
}

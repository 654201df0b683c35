import { Injectable } from '@nestjs/common';
import { EntityManager, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
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

  /** An organization change and a settings change, each optional, in one transaction. */
  /** Returns the settings as written, when they changed. */
  async update(
    orgChange: { org: Organization; audit: AuditRecord } | null,
    settingsChange: SettingsChange | null,
    now: Date,
  ): Promise<OrgSettings | null> {
    return this.em.fork().transactional(async (tx) => {
      if (orgChange) {
        const { org, audit } = orgChange;
        const row = await tx.findOneOrFail(OrganizationSchema, { id: org.id });
        tx.assign(row, {
          name: org.name,
          status: org.status,
          statusChangedAt: org.statusChangedAt,
          rateCardId: org.rateCardId,
          overagePolicy: org.overagePolicy,
          overagePercent: org.overagePercent,
          updatedAt: org.updatedAt,
        });
        persistAudit(tx, audit, now);
      }
      return settingsChange ? mergeSettingsRow(tx, settingsChange, now) : null;
    });
  }
}

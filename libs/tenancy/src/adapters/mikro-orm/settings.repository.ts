import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AuditRecord } from '../../domain/audit-entry';
import { Environment } from '../../domain/access';
import { OrgSettings } from '../../domain/org-settings';
import { persistAudit } from './audit-rows';
import { SettingsSchema } from './tenancy.entities';

export interface SettingsChange {
  orgId: string;
  environment: Environment;
  changes: Partial<OrgSettings>;
  audit: AuditRecord;
}

/** Merges in one statement (jsonb `||`), so concurrent writers of different fields lose nothing. */
export async function mergeSettingsRow(tx: EntityManager, change: SettingsChange, now: Date): Promise<void> {
  await tx.getConnection().execute(
    `insert into org_settings (org_id, environment, values, updated_at) values (?, ?, ?::jsonb, ?)
     on conflict (org_id, environment) do update set values = org_settings.values || excluded.values, updated_at = excluded.updated_at`,
    [change.orgId, change.environment, JSON.stringify(change.changes), now],
    'run',
    tx.getTransactionContext(),
  );
  persistAudit(tx, change.audit, now);
}

@Injectable()
export class SettingsRepository {
  constructor(private readonly em: EntityManager) {}

  /** The stored (possibly partial) document, or null when none was ever written. */
  async find(orgId: string, environment: Environment): Promise<Partial<OrgSettings> | null> {
    const row = await this.em.fork().findOne(SettingsSchema, { orgId, environment });
    return row ? (row.values as Partial<OrgSettings>) : null;
  }

  async merge(change: SettingsChange, now: Date): Promise<void> {
    await this.em.fork().transactional((tx) => mergeSettingsRow(tx, change, now));
  }
}

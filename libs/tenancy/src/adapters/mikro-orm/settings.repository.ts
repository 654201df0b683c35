import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AuditRecord } from '../../domain/audit-entry';
import { Environment } from '../../domain/access';
import { FieldError, PlatformError } from '@tollgate/platform';
import { mergeSettings, OrgSettings } from '../../domain/org-settings';
import { persistAudit } from './audit-rows';
import { SettingsSchema } from './tenancy.entities';

export interface SettingsChange {
  orgId: string;
  environment: Environment;
  changes: Partial<OrgSettings>;
  /** Run again on the row as locked: two concurrent writers cannot together break a rule across fields. */
  check: (after: OrgSettings) => FieldError[];
  /** Before and after are taken from the locked row. */
  audit: Omit<AuditRecord, 'before' | 'after'>;
}

/**
 * Locks the settings row, re-checks the merged document, merges (jsonb `||`) and audits,
 * inside the caller's transaction. Returns the settings as written.
 */
export async function mergeSettingsRow(tx: EntityManager, change: SettingsChange, now: Date): Promise<OrgSettings> {
  const connection = tx.getConnection();
  const [row] = await connection.execute<{ values: Partial<OrgSettings> }[]>(
    `select values from org_settings where org_id = ? and environment = ? for update`,
    [change.orgId, change.environment],
    'all',
    tx.getTransactionContext(),
  );
  const before = mergeSettings(row?.values ?? {});
  const after: OrgSettings = { ...before, ...change.changes };
  const errors = change.check(after);
  if (errors.length > 0) throw PlatformError.validation(errors);
  await connection.execute(
    `insert into org_settings (org_id, environment, values, updated_at) values (?, ?, ?::jsonb, ?)
     on conflict (org_id, environment) do update set values = org_settings.values || excluded.values, updated_at = excluded.updated_at`,
    [change.orgId, change.environment, JSON.stringify(change.changes), now],
    'run',
    tx.getTransactionContext(),
  );
  persistAudit(tx, { ...change.audit, before, after }, now);
  return after;
}

@Injectable()
export class SettingsRepository {
  constructor(private readonly em: EntityManager) {}

  /** The stored (possibly partial) document, or null when none was ever written. */
  async find(orgId: string, environment: Environment): Promise<Partial<OrgSettings> | null> {
    const row = await this.em.fork().findOne(SettingsSchema, { orgId, environment });
    return row ? (row.values as Partial<OrgSettings>) : null;
  }

  async merge(change: SettingsChange, now: Date): Promise<OrgSettings> {
    return this.em.fork().transactional((tx) => mergeSettingsRow(tx, change, now));
  }
}

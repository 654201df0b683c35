import { EntitySchema } from '@mikro-orm/postgresql';

/** Row shapes of the tenancy tables. Domain types never see these; mappers live in the repositories. */
export class OrganizationRow {
  id!: string;
  name!: string;
  status!: string;
  statusChangedAt!: Date;
  rateCardId!: string | null;
  overagePolicy!: string;
  overagePercent!: number | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ApiKeyRow {
  id!: string;
  kind!: string;
  orgId!: string | null;
  environment!: string | null;
  scopes!: string[];
  name!: string | null;
  prefix!: string;
  secretHash!: string;
  createdAt!: Date;
  revokedAt!: Date | null;
}

export class SettingsRow {
  orgId!: string;
  environment!: string;
  values!: Record<string, unknown>;
  updatedAt!: Date;
}

export class AuditLogRow {
  seq!: string;
  id!: string;
  orgId!: string | null;
  environment!: string | null;
  actor!: string;
  action!: string;
  resourceType!: string;
  resourceId!: string;
  before!: unknown;
  after!: unknown;
  requestId!: string | null;
  createdAt!: Date;
}

export const OrganizationSchema = new EntitySchema<OrganizationRow>({
  class: OrganizationRow,
  tableName: 'organizations',
  properties: {
    id: { type: 'text', primary: true },
    name: { type: 'text' },
    status: { type: 'text' },
    statusChangedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'status_changed_at' },
    rateCardId: { type: 'text', nullable: true, fieldName: 'rate_card_id' },
    overagePolicy: { type: 'text', fieldName: 'overage_policy' },
    overagePercent: { type: 'integer', nullable: true, fieldName: 'overage_percent' },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'updated_at' },
  },
});

export const ApiKeySchema = new EntitySchema<ApiKeyRow>({
  class: ApiKeyRow,
  tableName: 'api_keys',
  properties: {
    id: { type: 'text', primary: true },
    kind: { type: 'text' },
    orgId: { type: 'text', nullable: true, fieldName: 'org_id' },
    environment: { type: 'text', nullable: true },
    scopes: { type: 'text[]', columnType: 'text[]' },
    name: { type: 'text', nullable: true },
    prefix: { type: 'text' },
    secretHash: { type: 'text', fieldName: 'secret_hash', unique: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at' },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true, fieldName: 'revoked_at' },
  },
});

export const SettingsSchema = new EntitySchema<SettingsRow>({
  class: SettingsRow,
  tableName: 'org_settings',
  properties: {
    orgId: { type: 'text', primary: true, fieldName: 'org_id' },
    environment: { type: 'text', primary: true },
    values: { type: 'json', columnType: 'jsonb' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'updated_at' },
  },
});

export const AuditLogSchema = new EntitySchema<AuditLogRow>({
  class: AuditLogRow,
  tableName: 'audit_log',
  properties: {
    seq: { type: 'bigint', primary: true, autoincrement: true },
    id: { type: 'text', unique: true },
    orgId: { type: 'text', nullable: true, fieldName: 'org_id' },
    environment: { type: 'text', nullable: true },
    actor: { type: 'text' },
    action: { type: 'text' },
    resourceType: { type: 'text', fieldName: 'resource_type' },
    resourceId: { type: 'text', fieldName: 'resource_id' },
    before: { type: 'json', columnType: 'jsonb', nullable: true },
    after: { type: 'json', columnType: 'jsonb', nullable: true },
    requestId: { type: 'text', nullable: true, fieldName: 'request_id' },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at' },
  },
});

export const TENANCY_ENTITIES = [OrganizationSchema, ApiKeySchema, SettingsSchema, AuditLogSchema];

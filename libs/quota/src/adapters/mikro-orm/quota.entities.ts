import { EntitySchema } from '@mikro-orm/postgresql';

/** Row shapes of the hierarchy tables; the repositories map them to domain types. */
export class ProjectRow {
  orgId!: string;
  environment!: string;
  id!: string;
  name!: string | null;
  limitAmount!: string | null;
  period!: string;
  defaultUserLimit!: string | null;
  defaultUserPeriod!: string;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ProjectUserRow {
  orgId!: string;
  environment!: string;
  projectId!: string;
  id!: string;
  limitAmount!: string | null;
  period!: string;
  createdAt!: Date;
  updatedAt!: Date;
}

export class CreditGrantRow {
  id!: string;
  orgId!: string;
  environment!: string;
  amount!: string;
  reason!: string;
  source!: string | null;
  expiresAt!: Date | null;
  createdAt!: Date;
}

const timestamps = {
  createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at' },
  updatedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'updated_at' },
} as const;

export const ProjectSchema = new EntitySchema<ProjectRow>({
  class: ProjectRow,
  tableName: 'projects',
  properties: {
    orgId: { type: 'text', primary: true, fieldName: 'org_id' },
    environment: { type: 'text', primary: true },
    id: { type: 'text', primary: true },
    name: { type: 'text', nullable: true },
    // bigint columns come back as strings: exact, and mapped to safe integers on the way out.
    limitAmount: { type: 'bigint', nullable: true, fieldName: 'limit_amount' },
    period: { type: 'text' },
    defaultUserLimit: { type: 'bigint', nullable: true, fieldName: 'default_user_limit' },
    defaultUserPeriod: { type: 'text', fieldName: 'default_user_period' },
    ...timestamps,
  },
});

export const ProjectUserSchema = new EntitySchema<ProjectUserRow>({
  class: ProjectUserRow,
  tableName: 'project_users',
  properties: {
    orgId: { type: 'text', primary: true, fieldName: 'org_id' },
    environment: { type: 'text', primary: true },
    projectId: { type: 'text', primary: true, fieldName: 'project_id' },
    id: { type: 'text', primary: true },
    limitAmount: { type: 'bigint', nullable: true, fieldName: 'limit_amount' },
    period: { type: 'text' },
    ...timestamps,
  },
});

export const CreditGrantSchema = new EntitySchema<CreditGrantRow>({
  class: CreditGrantRow,
  tableName: 'credit_grants',
  properties: {
    id: { type: 'text', primary: true },
    orgId: { type: 'text', fieldName: 'org_id' },
    environment: { type: 'text' },
    amount: { type: 'bigint' },
    reason: { type: 'text' },
    source: { type: 'text', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true, fieldName: 'expires_at' },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at' },
  },
});

export const QUOTA_ENTITIES = [ProjectSchema, ProjectUserSchema, CreditGrantSchema];

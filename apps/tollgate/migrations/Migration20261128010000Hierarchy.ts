import { Migration } from '@mikro-orm/migrations';

/** The hierarchy's configuration (projects, users with their own caps) and credit grants. */
export class Migration20261128010000Hierarchy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table projects (
        org_id text not null references organizations (id),
        environment text not null check (environment in ('live', 'test')),
        id text not null,
        name text null,
        limit_amount bigint null check (limit_amount >= 0),
        period text not null check (period in ('none', 'day', 'week', 'month')),
        default_user_limit bigint null check (default_user_limit >= 0),
        default_user_period text not null check (default_user_period in ('none', 'day', 'week', 'month')),
        created_at timestamptz not null,
        updated_at timestamptz not null,
        primary key (org_id, environment, id)
      )`);
    this.addSql(`
      create table project_users (
        org_id text not null,
        environment text not null,
        project_id text not null,
        id text not null,
        limit_amount bigint null check (limit_amount >= 0),
        period text not null check (period in ('none', 'day', 'week', 'month')),
        created_at timestamptz not null,
        updated_at timestamptz not null,
        primary key (org_id, environment, project_id, id),
        foreign key (org_id, environment, project_id) references projects (org_id, environment, id)
      )`);
    this.addSql(`
      create table credit_grants (
        id text primary key,
        org_id text not null references organizations (id),
        environment text not null check (environment in ('live', 'test')),
        amount bigint not null check (amount > 0),
        reason text not null,
        source text null,
        expires_at timestamptz null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index credit_grants_org_idx on credit_grants (org_id, environment, created_at, id)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists credit_grants, project_users, projects');
  }
}

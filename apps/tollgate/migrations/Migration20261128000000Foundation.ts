import { Migration } from '@mikro-orm/migrations';

/** Tenancy (organizations, keys, settings, audit log) and the idempotency store. */
export class Migration20261128000000Foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table organizations (
        id text primary key,
        name text not null,
        status text not null check (status in ('active', 'suspended', 'past_due')),
        rate_card_id text null,
        overage_policy text not null check (overage_policy in ('allow', 'cap_at_hold', 'allow_up_to_percent')),
        overage_percent integer null check (overage_percent between 0 and 1000),
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    this.addSql(`
      create table api_keys (
        id text primary key,
        kind text not null check (kind in ('platform', 'org')),
        org_id text null references organizations (id),
        environment text null check (environment in ('live', 'test')),
        scopes text[] not null,
        name text null,
        prefix text not null,
        secret_hash text not null unique,
        created_at timestamptz not null,
        revoked_at timestamptz null,
        check ((kind = 'platform') = (org_id is null)),
        check ((kind = 'platform') = (environment is null))
      )`);
    this.addSql(`create index api_keys_org_idx on api_keys (org_id) where revoked_at is null`);
    this.addSql(`
      create table org_settings (
        org_id text not null references organizations (id),
        environment text not null check (environment in ('live', 'test')),
        values jsonb not null default '{}'::jsonb,
        updated_at timestamptz not null,
        primary key (org_id, environment)
      )`);
    this.addSql(`
      create table audit_log (
        seq bigserial primary key,
        id text not null unique,
        org_id text null,
        environment text null,
        actor text not null,
        action text not null,
        resource_type text not null,
        resource_id text not null,
        before jsonb null,
        after jsonb null,
        request_id text null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index audit_log_org_idx on audit_log (org_id, seq desc)`);
    this.addSql(`
      create table idempotency_keys (
        scope text not null,
        key text not null,
        request_hash text not null,
        state text not null check (state in ('in_progress', 'completed')),
        owner text not null,
        locked_until timestamptz null,
        response_status integer null,
        response_body jsonb null,
        response_content_type text null,
        created_at timestamptz not null,
        expires_at timestamptz not null,
        primary key (scope, key)
      )`);
    this.addSql(`create index idempotency_keys_expiry_idx on idempotency_keys (expires_at)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists idempotency_keys, audit_log, org_settings, api_keys, organizations');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 025. Per-organization billing routing, effective-dated (a history: the routing in
 * force at an event's creation decides where it goes), the vendor customers of each
 * organization, and the outbox grown into deliveries: the commit's 'default' row is resolved
 * at dispatch into one delivery row per backend (primary, shadow) and marked 'routed' with
 * where it went; each delivery row carries its lease.
 */
export class Migration20261205040000BillingRouting extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table billing_routes (
        id bigserial primary key,
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        backend text not null,
        shadow text null,
        -- The routing applies to events recorded at or after this instant.
        effective_from timestamptz not null,
        created_at timestamptz not null default now(),
        check (shadow is null or (shadow <> backend and backend <> 'none'))
      )`);
    this.addSql(`create index billing_routes_lookup_idx on billing_routes (org_id, environment, effective_from desc, id desc)`);
    this.addSql(`
      create table billing_customers (
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        backend text not null,
        customer_id text not null,
        -- What events name the customer by (Flexprice external_customer_id, Metronome customer_id / ingest alias).
        alias text not null,
        created_at timestamptz not null default now(),
        primary key (org_id, environment, backend)
      )`);
    this.addSql(`alter table usage_outbox drop constraint if exists usage_outbox_status_check`);
    this.addSql(`
      alter table usage_outbox
        add constraint usage_outbox_status_check check (status in ('pending', 'delivered', 'failed', 'dead', 'routed')),
        add column role text null check (role in ('primary', 'shadow')),
        add column customer text null,
        add column lease_id text null,
        add column routed_backend text null,
        add column routed_shadow text null,
        add column last_attempt_at timestamptz null`);
    this.addSql(
      `create index usage_outbox_dispatch_idx on usage_outbox (destination, next_attempt_at) where status in ('pending', 'failed')`,
    );
    this.addSql(`create index usage_outbox_list_idx on usage_outbox (environment, org_id, created_at, id)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists usage_outbox_dispatch_idx');
    this.addSql('drop index if exists usage_outbox_list_idx');
    this.addSql(`delete from usage_outbox where destination <> 'default'`);
    this.addSql(`update usage_outbox set status = 'pending' where status = 'routed'`);
    this.addSql(`alter table usage_outbox drop constraint usage_outbox_status_check`);
    this.addSql(`
      alter table usage_outbox
        add constraint usage_outbox_status_check check (status in ('pending', 'delivered', 'failed', 'dead')),
        drop column role, drop column customer, drop column lease_id, drop column routed_backend, drop column routed_shadow,
        drop column last_attempt_at`);
    this.addSql('drop table if exists billing_routes, billing_customers');
  }
}

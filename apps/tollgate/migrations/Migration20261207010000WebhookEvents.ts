import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 027. Webhooks: `webhook_events` holds Tollgate's own signals, recorded with the change
 * they report (deterministic ids, so a fact recorded twice is one row) and fanned out to the
 * subscribed endpoints by the webhooks dispatcher; `webhook_receipts` records every inbound
 * vendor delivery with its outcome, and its unique (source, delivery_id) is the replay guard.
 */
export class Migration20261207010000WebhookEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table webhook_events (
        id text primary key,
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        type text not null,
        data jsonb not null,
        occurred_at timestamptz not null,
        created_at timestamptz not null default now(),
        -- Set once the event has a delivery row for every endpoint subscribed at that moment.
        fanned_out_at timestamptz null
      )`);
    this.addSql(`create index webhook_events_pending_idx on webhook_events (created_at) where fanned_out_at is null`);
    this.addSql(`create index webhook_events_org_idx on webhook_events (org_id, environment, created_at desc)`);
    this.addSql(`
      create table webhook_receipts (
        id bigserial primary key,
        source text not null check (source in ('flexprice', 'metronome')),
        -- The vendor's delivery id (svix-id, Metronome notification id); null when the delivery
        -- was refused before it could be trusted (a forged id must not block the real one).
        delivery_id text null,
        environment text null check (environment in ('live', 'test')),
        org_id text null,
        event_type text null,
        -- What it means to Tollgate (payment_failed, credits_granted, ...; other).
        kind text null,
        outcome text not null check (outcome in ('applied', 'recorded', 'ignored', 'unknown_customer', 'duplicate', 'refused', 'failed')),
        reason text null,
        -- What Tollgate did about it (past_due, active, credit_grant, alert, none).
        action text null,
        remote_ip text null,
        body_sha256 text not null,
        payload jsonb null,
        received_at timestamptz not null default now()
      )`);
    this.addSql(
      `create unique index webhook_receipts_delivery_idx on webhook_receipts (source, delivery_id) where delivery_id is not null and outcome not in ('refused', 'duplicate', 'failed')`,
    );
    this.addSql(`create index webhook_receipts_list_idx on webhook_receipts (received_at desc, id desc)`);
    // Inbound deliveries name the vendor's customer (its id, or the external id / alias Tollgate gave it).
    this.addSql(`create index billing_customers_vendor_id_idx on billing_customers (backend, environment, customer_id)`);
    this.addSql(`create index billing_customers_alias_idx on billing_customers (backend, environment, alias)`);
    this.addSql(
      `create index webhook_receipts_org_idx on webhook_receipts (org_id, environment, received_at desc) where org_id is not null`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists billing_customers_vendor_id_idx');
    this.addSql('drop index if exists billing_customers_alias_idx');
    this.addSql('drop table if exists webhook_events, webhook_receipts');
  }
}

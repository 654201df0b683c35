import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 027. Outbound webhooks: `webhook_endpoints` (per organization and environment, the
 * signing secret and, during a rotation, the previous one until it expires; the endpoint's
 * circuit, shared by every instance), `webhook_deliveries` (the outbox: one row per event and
 * endpoint, id `<event id>:<endpoint id>`, so fanning an event out twice is one row; leased like
 * usage_outbox, decision 026) and `webhook_delivery_attempts` (append-only: every attempt).
 */
export class Migration20261207020000WebhookEndpoints extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table webhook_endpoints (
        id text primary key,
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        url text not null check (length(url) <= 2048),
        description text null,
        event_types text[] not null,
        status text not null default 'enabled' check (status in ('enabled', 'deleted')),
        -- The signing key (whsec_…): Tollgate must sign with it, so it is kept, never shown again.
        secret text null,
        -- During a rotation the replaced secret also signs until previous_secret_expires_at.
        previous_secret text null,
        previous_secret_expires_at timestamptz null,
        -- The circuit: consecutive failed attempts, and no call before circuit_open_until.
        consecutive_failures integer not null default 0,
        circuit_open_until timestamptz null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz null
      )`);
    this.addSql(
      `create index webhook_endpoints_org_idx on webhook_endpoints (org_id, environment, created_at, id) where status = 'enabled'`,
    );
    this.addSql(`
      create table webhook_deliveries (
        id text primary key,
        event_id text not null references webhook_events (id),
        endpoint_id text not null references webhook_endpoints (id),
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        event_type text not null,
        status text not null check (status in ('pending', 'delivered', 'failed', 'dead')),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        leased_until timestamptz null,
        lease_id text null,
        last_attempt_at timestamptz null,
        last_status_code integer null,
        last_error text null,
        last_duration_ms integer null,
        delivered_at timestamptz null,
        created_at timestamptz not null default now(),
        check (id = event_id || ':' || endpoint_id)
      ) with (fillfactor = 50)`);
    this.addSql(`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status in ('pending', 'failed')`);
    this.addSql(`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at, id)`);
    this.addSql(`
      create table webhook_delivery_attempts (
        id bigserial primary key,
        delivery_id text not null references webhook_deliveries (id),
        attempt integer not null,
        started_at timestamptz not null,
        duration_ms integer not null,
        status_code integer null,
        outcome text not null check (outcome in ('delivered', 'failed', 'dead')),
        error text null
      )`);
    this.addSql(`create index webhook_delivery_attempts_delivery_idx on webhook_delivery_attempts (delivery_id, id)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists webhook_delivery_attempts, webhook_deliveries, webhook_endpoints');
  }
}

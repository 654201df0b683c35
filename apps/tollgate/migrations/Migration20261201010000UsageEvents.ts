import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 020. Normalized usage events (one per charged line of a commit) and their outbox,
 * written in the commit's group-commit statement, with the commit's ledger row; and the
 * variance of every commit (estimate, actual, actual − estimate) on the ledger row and on each
 * event. Events and outbox rows are append-only; their ids are derived from the reservation
 * and the line, so the primary keys make a second copy impossible.
 */
export class Migration20261201010000UsageEvents extends Migration {
  override async up(): Promise<void> {
    // Null on rows written before they were kept.
    this.addSql(`
      alter table usage_ledger
        add column estimate bigint null,
        add column actual bigint null,
        add column variance bigint null,
        add column provider text null,
        add column provider_request_id text null`);
    // The variance report and the finance reads select a window of an organization's commits.
    this.addSql(`create index usage_ledger_committed_idx on usage_ledger (org_id, environment, committed_at)`);
    this.addSql(`
      create table usage_events (
        id text primary key,
        kind text not null default 'usage' check (kind in ('usage', 'correction')),
        reservation_id text not null references reservations (id),
        line int not null check (line >= 0),
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        project_id text not null,
        user_id text not null,
        product text null,
        dimension text null,
        dimensions jsonb not null,
        quantity numeric not null,
        -- Micro-credits charged (after the overage policy); corrections may be negative.
        amount bigint not null,
        estimate bigint null,
        actual bigint null,
        variance bigint null,
        rate_card_id text null,
        rate_id text null,
        provider text null,
        provider_request_id text null,
        occurred_at timestamptz not null,
        recorded_at timestamptz not null default now()
      )`);
    this.addSql(`create index usage_events_scope_idx on usage_events (org_id, environment, occurred_at, id)`);
    this.addSql(
      `create index usage_events_provider_idx on usage_events (org_id, environment, provider, provider_request_id) where provider_request_id is not null`,
    );
    this.addSql(`create index usage_events_reservation_idx on usage_events (reservation_id)`);
    this.addSql(`
      create table usage_outbox (
        -- '<event id>:<destination>': one row per event and destination.
        id text primary key,
        event_id text not null references usage_events (id),
        org_id text not null,
        environment text not null,
        -- 'default' until routing exists: the organization's backends at dispatch.
        destination text not null,
        status text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'dead')),
        attempts int not null default 0,
        next_attempt_at timestamptz not null,
        last_error text null,
        created_at timestamptz not null,
        delivered_at timestamptz null,
        unique (event_id, destination)
      )`);
    this.addSql(`create index usage_outbox_due_idx on usage_outbox (next_attempt_at) where status in ('pending', 'failed')`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists usage_outbox, usage_events');
    this.addSql(
      'alter table usage_ledger drop column estimate, drop column actual, drop column variance, drop column provider, drop column provider_request_id',
    );
  }
}

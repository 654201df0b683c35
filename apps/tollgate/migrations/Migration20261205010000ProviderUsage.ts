import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 023. Provider usage import and adjustments.
 * - usage_ledger rows have a kind: 'commit' (one per reservation, as before) or 'adjustment' (a
 *   correction after a provider's usage report, signed). Only commits are unique per reservation
 *   (partial unique index); the commit's group-commit insert now conflicts on the row id, which
 *   is derived from the reservation. The deferred trigger usage_ledger_needs_commit holds for
 *   both kinds: an adjustment exists only for a committed reservation.
 * - provider_usage_records: what each importer (an organization key's org, or '*' for platform
 *   keys) last reported per provider request; reconciliation_runs and their items.
 */
export class Migration20261205010000ProviderUsage extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table usage_ledger
        add column kind text not null default 'commit' check (kind in ('commit', 'adjustment')),
        add column reason text null`);
    this.addSql(`alter table usage_ledger drop constraint usage_ledger_amount_check`);
    this.addSql(`alter table usage_ledger add constraint usage_ledger_amount_check check (kind = 'adjustment' or amount >= 0)`);
    this.addSql(`alter table usage_ledger drop constraint usage_ledger_reservation_id_key`);
    this.addSql(`create unique index usage_ledger_commit_uniq on usage_ledger (reservation_id) where kind = 'commit'`);
    // What was charged for a reservation (its commit and its adjustments), read under its lock.
    this.addSql(`create index usage_ledger_reservation_idx on usage_ledger (reservation_id)`);
    // Matching a provider record to the commit that names its request.
    this.addSql(`
      create index usage_ledger_provider_idx on usage_ledger (provider, provider_request_id)
        where kind = 'commit' and provider_request_id is not null`);
    // A platform key's unmatched commits: one provider's commits of an environment in a window
    // (an organization key's use usage_ledger_committed_idx).
    this.addSql(`
      create index usage_ledger_provider_time_idx on usage_ledger (environment, provider, committed_at)
        where kind = 'commit' and provider_request_id is not null`);
    this.addSql(`
      create table reconciliation_runs (
        id text primary key,
        environment text not null check (environment in ('live', 'test')),
        -- The importing organization key's org; null for a platform key (orgs lists those touched).
        org_id text null,
        created_by text null,
        source text not null check (source in ('json', 'csv')),
        summary jsonb not null,
        orgs jsonb not null,
        unmatched_commit_age_seconds int not null,
        unmatched_commits jsonb not null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index reconciliation_runs_list_idx on reconciliation_runs (environment, org_id, created_at desc, id desc)`);
    this.addSql(`
      create table reconciliation_run_items (
        run_id text not null references reconciliation_runs (id),
        -- The record's JSON index, or its CSV line number.
        position int not null,
        status text not null,
        provider text null,
        request_id text null,
        org_id text null,
        reservation_id text null,
        charged_before bigint null,
        charged_after bigint null,
        delta bigint null,
        ledger_entry_id text null,
        event_ids jsonb null,
        detail text null,
        errors jsonb null,
        revised boolean not null default false,
        primary key (run_id, position)
      )`);
    this.addSql(`
      create table provider_usage_records (
        -- 'pur_' + hash(importer, environment, provider, request id): one per importer and request.
        id text primary key,
        importer text not null,
        environment text not null check (environment in ('live', 'test')),
        provider text not null,
        request_id text not null,
        usage jsonb not null,
        dimensions jsonb not null,
        occurred_at timestamptz not null,
        usage_hash text not null,
        org_id text null,
        reservation_id text null,
        status text not null,
        run_id text not null,
        revision int not null default 1,
        imported_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    this.addSql(
      `create index provider_usage_records_reservation_idx on provider_usage_records (reservation_id) where reservation_id is not null`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists provider_usage_records, reconciliation_run_items, reconciliation_runs');
    this.addSql('drop index usage_ledger_provider_time_idx');
    this.addSql('drop index usage_ledger_provider_idx');
    this.addSql('drop index usage_ledger_reservation_idx');
    this.addSql('drop index usage_ledger_commit_uniq');
    this.addSql(`delete from usage_ledger where kind = 'adjustment'`);
    this.addSql('alter table usage_ledger add constraint usage_ledger_reservation_id_key unique (reservation_id)');
    this.addSql('alter table usage_ledger drop constraint usage_ledger_amount_check');
    this.addSql('alter table usage_ledger add constraint usage_ledger_amount_check check (amount >= 0)');
    this.addSql('alter table usage_ledger drop column kind, drop column reason');
  }
}

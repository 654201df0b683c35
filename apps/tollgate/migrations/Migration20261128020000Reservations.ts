import { Migration } from '@mikro-orm/migrations';

/**
 * Reservations and the usage ledger, append-only: a hold is one row, its end (committed,
 * released, expired) one more row that can exist once, an extension one row each. No row is
 * ever updated on the admission path, so concurrent admissions never wait on a row lock.
 */
export class Migration20261128020000Reservations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table reservations (
        id text primary key,
        org_id text not null,
        environment text not null check (environment in ('live', 'test')),
        project_id text not null,
        user_id text not null,
        amount bigint not null check (amount > 0),
        idempotency_key text not null,
        request_hash text not null,
        periods jsonb not null,
        expires_at timestamptz not null,
        metadata jsonb null,
        -- The answer given when the hold was made, replayed verbatim to a retry with the same key.
        response jsonb not null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index reservations_scope_idx on reservations (org_id, environment, created_at desc, id desc)`);
    this.addSql(`
      create table reservation_extensions (
        seq bigserial primary key,
        reservation_id text not null references reservations (id),
        expires_at timestamptz not null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index reservation_extensions_idx on reservation_extensions (reservation_id, seq desc)`);
    this.addSql(`
      create table reservation_outcomes (
        reservation_id text primary key references reservations (id),
        org_id text not null,
        environment text not null,
        status text not null check (status in ('committed', 'released', 'expired')),
        amount_committed bigint not null check (amount_committed >= 0),
        amount_released bigint not null check (amount_released >= 0),
        overage bigint not null default 0 check (overage >= 0),
        reason text null,
        request_hash text null,
        response jsonb null,
        created_at timestamptz not null
      )`);
    this.addSql(`
      create table usage_ledger (
        seq bigserial primary key,
        id text not null unique,
        reservation_id text not null unique references reservations (id),
        org_id text not null,
        environment text not null,
        project_id text not null,
        user_id text not null,
        amount bigint not null check (amount >= 0),
        periods jsonb not null,
        committed_at timestamptz not null
      )`);
    this.addSql(`create index usage_ledger_scope_idx on usage_ledger (org_id, environment, project_id, user_id)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists usage_ledger, reservation_outcomes, reservation_extensions, reservations');
  }
}

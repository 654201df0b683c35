import { Migration } from '@mikro-orm/migrations';

/**
 * The rollups' upserts, from `source` (the trigger's transition table, or the whole ledger for
 * the back-fill). Each groups by its table's primary key (so no row is touched twice by one
 * statement) and inserts in primary-key order, tables always in this order: concurrent
 * statements of several instances lock rollup rows in one global order and cannot deadlock.
 * Amounts are summed whatever their sign (adjustments may be negative).
 */
const UPSERTS = (source: string) => [
  // Committed per user and admission periods (the hold's `periods`, decision 018).
  `insert into usage_rollups as r (org_id, environment, day, project_id, user_id, week, month, amount, entries)
   select org_id, environment, coalesce(periods->>'day', ''), project_id, user_id,
          coalesce(periods->>'week', ''), coalesce(periods->>'month', ''), sum(amount), count(*)
     from ${source} group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7
   on conflict (org_id, environment, day, project_id, user_id, week, month)
   do update set amount = r.amount + excluded.amount, entries = r.entries + excluded.entries`,
  // All-time committed per user: a rebuild reads one row per user, not one per user and day.
  `insert into usage_rollup_totals as r (org_id, environment, project_id, user_id, amount, entries)
   select org_id, environment, project_id, user_id, sum(amount), count(*)
     from ${source} group by 1, 2, 3, 4 order by 1, 2, 3, 4
   on conflict (org_id, environment, project_id, user_id)
   do update set amount = r.amount + excluded.amount, entries = r.entries + excluded.entries`,
  // Committed per UTC hour of committed_at: the credit pool's consumption at an instant.
  `insert into usage_rollup_hours as r (org_id, environment, hour, amount, entries)
   select org_id, environment, date_trunc('hour', committed_at, 'UTC'), sum(amount), count(*)
     from ${source} group by 1, 2, 3 order by 1, 2, 3
   on conflict (org_id, environment, hour)
   do update set amount = r.amount + excluded.amount, entries = r.entries + excluded.entries`,
  // Running quantities per billing period, product and dimension. Per organization, not per user:
  // its statements already queue on the organization's current hour above, and per user a
  // statement of 100 priced commits updated 100 times as many rows (measured: ~2.5 of ~6 ms).
  `insert into usage_rollup_quantities as r (org_id, environment, quantity_period, product, dimension, value, entries)
   select l.org_id, l.environment, l.quantity_period, l.product, u.key, sum(u.value::numeric), count(*)
     from ${source} l, jsonb_each_text(l.usage) u
    where l.product is not null and l.quantity_period is not null and u.value is not null
    group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
   on conflict (org_id, environment, quantity_period, product, dimension)
   do update set value = r.value + excluded.value, entries = r.entries + excluded.entries`,
];

/**
 * Decision 021. A rebuild of an organization's quota-store scope read its whole usage ledger;
 * it now reads rollups that a statement-level trigger keeps in the same statement (and so the
 * same transaction) as the ledger rows: only rows actually inserted count (a conflicting
 * duplicate is not in the transition table), and a failed statement leaves no trace.
 */
export class Migration20261205000000LedgerRollups extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table usage_rollups (
        org_id text not null,
        environment text not null,
        day text not null,
        project_id text not null,
        user_id text not null,
        week text not null,
        month text not null,
        amount bigint not null,
        entries bigint not null,
        -- Day first: a rebuild reads the days of the current week and month.
        primary key (org_id, environment, day, project_id, user_id, week, month)
      )`);
    this.addSql(`
      create table usage_rollup_totals (
        org_id text not null,
        environment text not null,
        project_id text not null,
        user_id text not null,
        amount bigint not null,
        entries bigint not null,
        primary key (org_id, environment, project_id, user_id)
      )`);
    this.addSql(`
      create table usage_rollup_hours (
        org_id text not null,
        environment text not null,
        hour timestamptz not null,
        amount bigint not null,
        entries bigint not null,
        primary key (org_id, environment, hour)
      )`);
    this.addSql(`
      create table usage_rollup_quantities (
        org_id text not null,
        environment text not null,
        quantity_period text not null,
        product text not null,
        dimension text not null,
        value numeric not null,
        entries bigint not null,
        primary key (org_id, environment, quantity_period, product, dimension)
      )`);
    this.addSql(`
      create function usage_ledger_rollup() returns trigger language plpgsql as $$
      begin
        ${UPSERTS('added').join(';\n')};
        return null;
      end $$`);
    this.addSql(`
      create trigger usage_ledger_rollup after insert on usage_ledger
        referencing new table as added for each statement execute function usage_ledger_rollup()`);
    // The trigger's lock on usage_ledger holds other writers until this transaction commits, so
    // the back-fill sees every row written before, and the trigger every row written after.
    for (const upsert of UPSERTS('usage_ledger')) this.addSql(upsert);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger usage_ledger_rollup on usage_ledger');
    this.addSql('drop function usage_ledger_rollup()');
    this.addSql('drop table usage_rollups, usage_rollup_totals, usage_rollup_hours, usage_rollup_quantities');
  }
}

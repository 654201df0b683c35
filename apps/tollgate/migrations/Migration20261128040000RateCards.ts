import { Migration } from '@mikro-orm/migrations';

const PRICE_COLUMNS = `
        product text not null,
        dimension text not null,
        match jsonb not null default '{}'::jsonb,
        model text not null check (model in ('flat', 'graduated', 'volume', 'package')),
        unit_price text null,
        package_size bigint null check (package_size >= 1),
        tiers jsonb null,
        tier_scope text not null check (tier_scope in ('request', 'period')),`;

/**
 * Rate cards, their rates and downgrade ladders, and organizations' overrides. Rates and
 * overrides are append-only: a price is never edited (holds recorded it), a change is a new row;
 * the trigger lets an update only bring `ending_before` forward, and refuses deletes.
 */
export class Migration20261128040000RateCards extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rate_cards (
        id text primary key,
        name text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    this.addSql(`create index rate_cards_created_idx on rate_cards (created_at desc, id desc)`);
    this.addSql(`
      create table rates (
        id text primary key,
        rate_card_id text not null references rate_cards (id),${PRICE_COLUMNS}
        starting_at timestamptz not null,
        ending_before timestamptz null check (ending_before > starting_at),
        created_at timestamptz not null,
        -- Insertion order: a card lists its rates as they were written, additions last.
        seq bigint generated always as identity
      )`);
    this.addSql(`create index rates_card_idx on rates (rate_card_id, seq)`);
    this.addSql(`
      create table rate_overrides (
        id text primary key,
        org_id text not null references organizations (id),${PRICE_COLUMNS}
        starting_at timestamptz null,
        ending_before timestamptz null check (ending_before > starting_at),
        created_at timestamptz not null,
        seq bigint generated always as identity
      )`);
    this.addSql(`create index rate_overrides_org_idx on rate_overrides (org_id, seq)`);
    this.addSql(`
      create table downgrade_ladders (
        rate_card_id text not null references rate_cards (id),
        product text not null,
        ladder jsonb not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        primary key (rate_card_id, product)
      )`);
    this.addSql(`
      create function price_rows_append_only() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          raise exception '% rows are append-only: they are never deleted', tg_table_name;
        end if;
        if (to_jsonb(new) - 'ending_before') is distinct from (to_jsonb(old) - 'ending_before') then
          raise exception '% rows are append-only: only ending_before may change', tg_table_name;
        end if;
        if new.ending_before is null and old.ending_before is not null or new.ending_before > old.ending_before then
          raise exception '% rows are append-only: ending_before may only be brought forward', tg_table_name;
        end if;
        return new;
      end $$`);
    this.addSql(`create trigger rates_append_only before update or delete on rates for each row execute function price_rows_append_only()`);
    this.addSql(
      `create trigger rate_overrides_append_only before update or delete on rate_overrides for each row execute function price_rows_append_only()`,
    );
    // Existing rows are not checked (not valid): ids written before rate cards existed stay readable.
    this.addSql(
      `alter table organizations add constraint organizations_rate_card_fk foreign key (rate_card_id) references rate_cards (id) not valid`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('alter table organizations drop constraint if exists organizations_rate_card_fk');
    this.addSql('drop table if exists downgrade_ladders, rate_overrides, rates, rate_cards');
    this.addSql('drop function if exists price_rows_append_only()');
  }
}

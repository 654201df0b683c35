import { Migration } from '@mikro-orm/migrations';

/**
 * A usage-ledger row (and so the usage events of the same statement) exists only for a
 * reservation whose outcome is `committed`. The commit writes the outcome, the ledger row and
 * the events in one group-commit statement, where each insert skips a conflict on its own: if
 * the reservation had already ended otherwise (released or expired by another path, say after
 * a store rebuild race), the outcome conflicts but the ledger row would not, and a released
 * hold would be billed. This constraint trigger runs at the end of the transaction, when every
 * row of the statement is there, and fails the statement instead: nothing of it stays, the
 * writer retries each unit alone, and only the inconsistent commit fails (503, store rebuilt).
 */
export class Migration20261201020000LedgerNeedsCommit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function usage_ledger_needs_commit() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from reservation_outcomes o where o.reservation_id = new.reservation_id and o.status = 'committed') then
          raise exception 'usage ledger row for reservation % without a committed outcome', new.reservation_id using errcode = '23514';
        end if;
        return null;
      end $$`);
    this.addSql(`
      create constraint trigger usage_ledger_needs_commit after insert on usage_ledger
        deferrable initially deferred for each row execute function usage_ledger_needs_commit()`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger usage_ledger_needs_commit on usage_ledger');
    this.addSql('drop function usage_ledger_needs_commit()');
  }
}
